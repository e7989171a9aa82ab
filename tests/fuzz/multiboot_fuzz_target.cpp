#include "tests/fuzz/multiboot_fuzz_target.hpp"

#include <cstring>
#include <memory>
#include <string_view>

#include "hv/boot/multiboot.hpp"
#include "tests/fuzz/fuzz_contract.hpp"
#include "tests/fuzz/strict_physical_memory.hpp"

namespace relay::tests {
namespace {

constexpr u64 kMultiboot1InfoSize = 88;
constexpr u32 kUnknownMagic = 0x12345678;

u32 magic_for(MultibootFuzzProtocol protocol, u8 selector) {
    if ((selector & 3) == 3) {
        return kUnknownMagic;
    }
    return protocol == MultibootFuzzProtocol::kMultiboot2 ? kMultiboot2BootloaderMagic
                                                          : kMultiboot1BootloaderMagic;
}

HostPhysRange image_for(u8 selector) {
    if (selector == 0) {
        return HostPhysRange::unchecked(HostPhysAddr(0x200000), 0x100000);
    }
    return HostPhysRange::unchecked(
        HostPhysAddr(kMultibootFuzzMemoryBase + (static_cast<u64>(selector) - 1) * 512), 0x1000);
}

bool is_memory_type(MemoryType type) {
    switch (type) {
        case MemoryType::kUsable:
        case MemoryType::kReserved:
        case MemoryType::kAcpiReclaimable:
        case MemoryType::kAcpiNvs:
        case MemoryType::kBadMemory:
        case MemoryType::kPreserved:
            return true;
    }
    return false;
}

// A string BootInfo hands out: in its own pool, terminated, bounded.
void check_string(const BootInfo& info, std::string_view text, const char* what) {
    FUZZ_CHECK(text.size() <= BootInfo::kMaxStringLength, "{} of {} bytes", what, text.size());
    FUZZ_CHECK(view_inside(text, &info, sizeof(info)),
               "{} points outside BootInfo (into loader memory?)", what);
    // A string never set is an empty view at the pool's start (BootInfo::string_at), so
    // only a non-empty one is required to be followed by its NUL.
    FUZZ_CHECK(text.empty() || text.data()[text.size()] == '\0',
               "{} is not NUL-terminated in the pool", what);
    FUZZ_CHECK(text.find('\0') == std::string_view::npos, "{} holds a NUL", what);
}

void check_accepted(const BootInfo& info, u32 magic, HostPhysAddr info_address, HostPhysRange image,
                    const StrictPhysicalMemory& memory) {
    FUZZ_CHECK(info.protocol == (magic == kMultiboot2BootloaderMagic ? BootProtocol::kMultiboot2
                                                                     : BootProtocol::kMultiboot1),
               "protocol {} for magic {:#x}", static_cast<u8>(info.protocol), magic);
    FUZZ_CHECK(info.image == image, "image range changed");
    FUZZ_CHECK(info.info_structure.base() == info_address, "boot information at {}, not {}",
               info.info_structure.base(), info_address);
    if (magic == kMultiboot2BootloaderMagic) {
        // Multiboot2 §3.6: everything lies in [info, info + total_size).
        u32 total_size = 0;
        std::memcpy(&total_size, memory.map(info_address, 4), 4);
        FUZZ_CHECK(info.info_structure.size() == total_size, "info structure {} bytes, total {}",
                   info.info_structure.size(), total_size);
    } else {
        FUZZ_CHECK(info.info_structure.size() == kMultiboot1InfoSize, "info structure {} bytes",
                   info.info_structure.size());
    }
    FUZZ_CHECK(info.memory_region_count <= BootInfo::kMaxMemoryRegions, "{} memory regions",
               info.memory_region_count);
    for (usize i = 0; i < info.memory_region_count; ++i) {
        const MemoryRegion& region = info.memory_map[i];
        FUZZ_CHECK(HostPhysRange::fits(region.base, region.size), "region {} wraps", i);
        FUZZ_CHECK(is_memory_type(region.type), "region {} has type {}", i,
                   static_cast<u8>(region.type));
    }
    FUZZ_CHECK(info.module_count <= BootInfo::kMaxModules, "{} modules", info.module_count);
    for (usize i = 0; i < info.module_count; ++i) {
        const HostPhysRange& range = info.modules[i].range;
        // Both formats give module addresses as 32-bit mod_start/mod_end.
        FUZZ_CHECK(range.base().raw() + range.size() <= (u64{1} << 32),
                   "module {} ({}, {:#x} bytes) beyond 4 GiB", i, range.base(), range.size());
        FUZZ_CHECK(!range.overlaps(info.image), "module {} overlaps the image", i);
        FUZZ_CHECK(!range.overlaps(info.info_structure), "module {} overlaps the information", i);
        for (usize j = 0; j < i; ++j) {
            FUZZ_CHECK(!range.overlaps(info.modules[j].range), "modules {} and {} overlap", j, i);
        }
        check_string(info, info.module_command_line(i), "module command line");
    }
    check_string(info, info.command_line(), "command line");
    check_string(info, info.bootloader_name(), "boot loader name");
    FUZZ_CHECK(info.rsdp_length == 0 || info.rsdp_length == 20 || info.rsdp_length == 36,
               "RSDP copy of {} bytes", info.rsdp_length);
}

bool same_result(const BootInfo& a, const BootInfo& b) {
    if (a.memory_region_count != b.memory_region_count || a.module_count != b.module_count ||
        a.rsdp_length != b.rsdp_length || a.command_line() != b.command_line() ||
        a.bootloader_name() != b.bootloader_name() || a.has_load_base != b.has_load_base ||
        a.load_base != b.load_base || !(a.info_structure == b.info_structure)) {
        return false;
    }
    for (usize i = 0; i < a.memory_region_count; ++i) {
        if (a.memory_map[i].base != b.memory_map[i].base ||
            a.memory_map[i].size != b.memory_map[i].size ||
            a.memory_map[i].type != b.memory_map[i].type) {
            return false;
        }
    }
    for (usize i = 0; i < a.module_count; ++i) {
        if (!(a.modules[i].range == b.modules[i].range) ||
            a.module_command_line(i) != b.module_command_line(i)) {
            return false;
        }
    }
    return std::memcmp(a.rsdp, b.rsdp, a.rsdp_length) == 0;
}

}  // namespace

MultibootFuzzOutcome fuzz_multiboot_once(MultibootFuzzProtocol protocol, const uint8_t* data,
                                         std::size_t size) {
    MultibootFuzzOutcome outcome;
    if (size < kMultibootFuzzHeaderSize) {
        return outcome;
    }
    u32 magic = magic_for(protocol, data[0]);
    HostPhysAddr info_address(kMultibootFuzzMemoryBase + (data[1] | (data[2] << 8)));
    HostPhysRange image = image_for(data[3]);
    StrictPhysicalMemory memory(kMultibootFuzzMemoryBase, data + kMultibootFuzzHeaderSize,
                                size - kMultibootFuzzHeaderSize);

    auto info = std::make_unique<BootInfo>();
    Status status = parse_boot_information(memory, magic, info_address, image, info.get());
    if (!status.ok()) {
        std::string_view message = status.error().message();
        FUZZ_CHECK(status.error().code() != ErrorCode::kOk, "a refusal has an error code");
        FUZZ_CHECK(!message.empty() && message.size() < Error::kMessageCapacity &&
                       is_printable_text(message),
                   "the refusal is printed on the console: \"{}\"", message);
        FUZZ_CHECK(magic != kUnknownMagic || status.error().code() == ErrorCode::kBadMagic,
                   "an unknown magic is refused as such: \"{}\"", message);
        outcome.message = message;
        return outcome;
    }
    FUZZ_CHECK(magic != kUnknownMagic, "information accepted with magic {:#x}", magic);
    if (magic == kMultiboot2BootloaderMagic && memory.map_count() > 0) {
        FUZZ_CHECK(memory.lowest_mapped() >= info_address.raw() &&
                       memory.highest_mapped() < info_address.raw() + info->info_structure.size(),
                   "multiboot2 read {:#x}..{:#x} outside the information {}+{:#x}",
                   memory.lowest_mapped(), memory.highest_mapped(), info_address,
                   info->info_structure.size());
    }
    // Everything was copied: the loader's memory may be reused from here on.
    memory.release();
    check_accepted(*info, magic, info_address, image, memory);

    auto again = std::make_unique<BootInfo>();
    Status second = parse_boot_information(memory, magic, info_address, image, again.get());
    FUZZ_CHECK(second.ok() && same_result(*info, *again), "a second parse differs");

    outcome.accepted = true;
    outcome.modules = info->module_count;
    outcome.memory_regions = info->memory_region_count;
    return outcome;
}

}  // namespace relay::tests
