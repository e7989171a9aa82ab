#include "hv/pci/function_config.hpp"

namespace relay::pci {

namespace {

constexpr u16 kVendorId = 0x00;
constexpr u16 kCommand = 0x04;
constexpr u16 kHeaderType = 0x0E;
constexpr u16 kBar0 = 0x10;
constexpr u16 kBarEnd = 0x28;  // one past BAR5
constexpr u16 kExpansionRom = 0x30;
constexpr u32 kIoBar = 1u << 0;
constexpr u32 kMemoryType64 = 2u << 1;
constexpr u32 kMemoryTypeMask = 3u << 1;
constexpr u32 kPrefetchable = 1u << 3;

bool is_bar_register(u16 offset) {
    return offset >= kBar0 && offset < kBarEnd;
}

}  // namespace

Result<FunctionBars> probe_bars(ConfigAccess& config) {
    if ((config.read(kVendorId, 2) & 0xFFFF) == 0xFFFF) {
        return make_error(ErrorCode::kNotFound, "no PCI function answers at that address");
    }
    u8 header = static_cast<u8>(config.read(kHeaderType, 1)) & 0x7F;
    if (header != 0) {
        return make_error(ErrorCode::kUnsupported,
                          "header type {} is not an endpoint (type 0); bridges cannot be assigned",
                          header);
    }
    u32 command = config.read(kCommand, 2);
    config.write(kCommand, 2, command & ~0x3u);  // no decoding while the BARs read back sizes
    FunctionBars result;
    Status status = ok_status();
    for (usize i = 0; i < FunctionBars::kCount; ++i) {
        u16 offset = static_cast<u16>(kBar0 + i * 4);
        u32 value = config.read(offset, 4);
        config.write(offset, 4, 0xFFFF'FFFFu);
        u32 mask = config.read(offset, 4);
        config.write(offset, 4, value);
        if (mask == 0 || mask == 0xFFFF'FFFFu) {
            continue;  // unimplemented BAR
        }
        Bar& bar = result.bars[i];
        if ((value & kIoBar) != 0) {
            bar.kind = Bar::Kind::kIo;
            bar.base = value & ~0x3u;
            bar.size = (~(mask & ~0x3u) + 1) & 0xFFFF;
            continue;
        }
        bar.prefetchable = (value & kPrefetchable) != 0;
        u64 base = value & ~0xFu;
        u64 size_mask = mask & ~0xFu;
        if ((value & kMemoryTypeMask) == kMemoryType64) {
            if (i + 1 == FunctionBars::kCount) {
                status =
                    make_error(ErrorCode::kCorrupt, "BAR{} claims 64 bits but is the last BAR", i);
                break;
            }
            u16 high_offset = static_cast<u16>(offset + 4);
            u32 high = config.read(high_offset, 4);
            config.write(high_offset, 4, 0xFFFF'FFFFu);
            u32 high_mask = config.read(high_offset, 4);
            config.write(high_offset, 4, high);
            base |= static_cast<u64>(high) << 32;
            size_mask |= static_cast<u64>(high_mask) << 32;
            bar.kind = Bar::Kind::kMemory64;
            ++i;  // the upper half is part of this BAR
        } else {
            size_mask |= 0xFFFF'FFFF'0000'0000ull;
            bar.kind = Bar::Kind::kMemory32;
        }
        bar.base = base;
        bar.size = ~size_mask + 1;
        if (bar.size == 0 || (bar.size & (bar.size - 1)) != 0 || (bar.base & (bar.size - 1)) != 0) {
            status = make_error(ErrorCode::kCorrupt, "BAR{} at {:#x} has an impossible size {:#x}",
                                i, bar.base, bar.size);
            break;
        }
    }
    config.write(kCommand, 2, command);
    if (!status.ok()) {
        return status.error();
    }
    return result;
}

u32 bar_register(const Bar& bar, bool upper, bool sizing) {
    if (bar.kind == Bar::Kind::kNone) {
        return 0;
    }
    u64 value = sizing ? ~(bar.size - 1) : bar.base;
    if (upper) {
        return static_cast<u32>(value >> 32);
    }
    if (bar.kind == Bar::Kind::kIo) {
        return (static_cast<u32>(value) & ~0x3u & (sizing ? 0xFFFFu : 0xFFFF'FFFFu)) | kIoBar;
    }
    u32 low = static_cast<u32>(value) & ~0xFu;
    if (bar.kind == Bar::Kind::kMemory64) {
        low |= kMemoryType64;
    }
    if (bar.prefetchable) {
        low |= kPrefetchable;
    }
    return low;
}

u32 FunctionConfig::read_dword(ConfigAccess& device, u16 offset) {
    if (is_bar_register(offset)) {
        usize index = (offset - kBar0) / 4;
        // The upper half of a 64-bit BAR belongs to the BAR before it.
        if (bars_.bars[index].kind == Bar::Kind::kNone && index > 0 &&
            bars_.bars[index - 1].kind == Bar::Kind::kMemory64) {
            return bar_register(bars_.bars[index - 1], true, sizing_[index - 1]);
        }
        return bar_register(bars_.bars[index], false, sizing_[index]);
    }
    if (offset == kExpansionRom) {
        return 0;
    }
    return device.read(offset, 4);
}

u32 FunctionConfig::read(ConfigAccess& device, u16 offset, u8 width) {
    if ((offset & (width - 1)) != 0 || offset > 0xFF) {
        return 0xFFFF'FFFFu;
    }
    u16 aligned = offset & ~3u;
    if (!is_bar_register(aligned) && aligned != kExpansionRom) {
        return device.read(offset, width);  // as the device says
    }
    u32 dword = read_dword(device, aligned);
    u32 shifted = dword >> ((offset & 3) * 8);
    return width == 4 ? shifted : shifted & ((1u << (width * 8)) - 1);
}

void FunctionConfig::write(ConfigAccess& device, u16 offset, u8 width, u32 value) {
    if ((offset & (width - 1)) != 0 || offset > 0xFF) {
        return;
    }
    if (offset == kCommand && (width == 2 || width == 4)) {
        u32 current = device.read(kCommand, 2);
        u32 merged = (current & ~static_cast<u32>(kCommandMask)) | (value & kCommandMask);
        device.write(kCommand, 2, merged);
        return;  // a dword write's upper half would hit Status: dropped
    }
    if (offset == kCommand && width == 1) {
        u32 current = device.read(kCommand, 1);
        device.write(kCommand, 1, (current & ~0x07u) | (value & 0x07u));
        return;
    }
    if (offset == kCommand + 1 && width == 1) {
        u32 current = device.read(kCommand + 1, 1);
        device.write(kCommand + 1, 1, (current & ~0x04u) | (value & 0x04u));  // INTx disable
        return;
    }
    if (is_bar_register(offset) && width == 4) {
        usize index = (offset - kBar0) / 4;
        if (bars_.bars[index].kind == Bar::Kind::kNone && index > 0 &&
            bars_.bars[index - 1].kind == Bar::Kind::kMemory64) {
            --index;  // the upper half sizes with its BAR
        }
        // Sizing: all ones asks for the size mask; anything else (the guest writing the
        // value back) ends it. The BAR never moves.
        sizing_[index] = value == 0xFFFF'FFFFu;
    }
    // Everything else is dropped.
}

}  // namespace relay::pci
