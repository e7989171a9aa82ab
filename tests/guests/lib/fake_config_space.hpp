// A configuration space in host memory that behaves as docs/iommu.md says Relay's does:
// absent functions read all ones, BARs keep only their address bits (so writing all ones
// reads back the size mask), and of the Command register only the I/O space, memory
// space, bus master and INTx-disable bits are writable; other writes are ignored. It
// records each BAR write with the Command register's value at the time.
#pragma once

#include <cstring>
#include <map>
#include <vector>

#include "tests/guests/lib/pci.hpp"

namespace relay::guest::pci {

class FakeConfigSpace final : public ConfigSpace {
public:
    static constexpr u16 kWritableCommandBits =
        kCommandIoSpace | kCommandMemorySpace | kCommandBusMaster | kCommandInterruptDisable;

    struct BarWrite {
        Bdf bdf;
        u16 offset;
        u32 value;
        u16 command;
    };

    // A function with this identity and no BARs.
    void add_function(Bdf bdf, u16 vendor, u16 device, u8 header_type = 0, u32 class_code = 0,
                      u8 revision = 0) {
        Function& function = functions_[key(bdf)];
        std::memset(function.bytes, 0, sizeof(function.bytes));
        store16(function, kVendorIdOffset, vendor);
        store16(function, kDeviceIdOffset, device);
        store32(function, kRevisionClassOffset, class_code << 8 | revision);
        function.bytes[0x0E] = header_type;
    }

    // BAR `index` (and index + 1 for a 64-bit memory BAR) of `size` bytes at `address`.
    void add_bar(Bdf bdf, u8 index, BarKind kind, u64 address, u64 size, bool prefetchable = false,
                 bool io_16_bit = true) {
        Function& function = functions_.at(key(bdf));
        u16 offset = static_cast<u16>(kBar0Offset + 4 * index);
        u64 address_mask = ~(size - 1);
        u32 flags = 0;
        if (kind == BarKind::kIo) {
            flags = 1;
            address_mask &= io_16_bit ? 0xFFFC : 0xFFFF'FFFC;
        } else {
            flags = (kind == BarKind::kMemory64 ? 4u : 0u) | (prefetchable ? 8u : 0u);
            address_mask &= ~0xFull;
        }
        function.bar_flags[index] = flags;
        function.bar_masks[index] = static_cast<u32>(address_mask);
        store32(function, offset, static_cast<u32>(address & address_mask) | flags);
        // A 64-bit BAR in the last slot (a broken device) has no upper half.
        if (kind == BarKind::kMemory64 && index + 1 < kBarCount) {
            function.bar_masks[index + 1] = static_cast<u32>(address_mask >> 32);
            store32(function, offset + 4, static_cast<u32>(address >> 32));
        }
    }

    void set_command(Bdf bdf, u16 command) {
        store16(functions_.at(key(bdf)), kCommandOffset, command);
    }
    u16 command(Bdf bdf) { return read16(bdf, kCommandOffset); }

    u32 read32(Bdf bdf, u16 offset) override {
        ++reads;
        auto found = functions_.find(key(bdf));
        if (found == functions_.end()) {
            return ~0u;
        }
        u32 value;
        std::memcpy(&value, found->second.bytes + offset, 4);
        return value;
    }
    u16 read16(Bdf bdf, u16 offset) override {
        return static_cast<u16>(read32(bdf, offset & ~3) >> (8 * (offset & 2)));
    }
    void write32(Bdf bdf, u16 offset, u32 value) override {
        auto found = functions_.find(key(bdf));
        if (found == functions_.end()) {
            return;
        }
        Function& function = found->second;
        if (offset >= kBar0Offset && offset < kBar0Offset + 4 * kBarCount) {
            u8 index = static_cast<u8>((offset - kBar0Offset) / 4);
            bar_writes.push_back({bdf, offset, value, command(bdf)});
            store32(function, offset,
                    (value & function.bar_masks[index]) | function.bar_flags[index]);
        } else if (offset == kCommandOffset) {
            write16(bdf, offset, static_cast<u16>(value));
        }
    }
    void write16(Bdf bdf, u16 offset, u16 value) override {
        auto found = functions_.find(key(bdf));
        if (found == functions_.end() || offset != kCommandOffset) {
            return;  // everything else is read-only in a Relay domain
        }
        u16 old = command(bdf);
        store16(found->second, offset,
                static_cast<u16>((old & ~kWritableCommandBits) | (value & kWritableCommandBits)));
    }

    std::vector<BarWrite> bar_writes;
    u64 reads = 0;

private:
    struct Function {
        u8 bytes[256];
        u32 bar_masks[kBarCount] = {};
        u32 bar_flags[kBarCount] = {};
    };
    static u32 key(Bdf bdf) { return config_address(bdf, 0); }
    static void store16(Function& function, u16 offset, u16 value) {
        std::memcpy(function.bytes + offset, &value, 2);
    }
    static void store32(Function& function, u16 offset, u32 value) {
        std::memcpy(function.bytes + offset, &value, 4);
    }

    std::map<u32, Function> functions_;
};

}  // namespace relay::guest::pci
