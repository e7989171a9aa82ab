// Multiboot 0.6.96 §3.3: the boot information structure and what it points to.
#include "hv/boot/multiboot.hpp"

#include <cstring>

#include "lib/little_endian.hpp"
#include "lib/strings.hpp"

namespace relay {

namespace {

constexpr u32 kFlagMemory = 1u << 0;
constexpr u32 kFlagCommandLine = 1u << 2;
constexpr u32 kFlagModules = 1u << 3;
constexpr u32 kFlagMemoryMap = 1u << 6;
constexpr u32 kFlagBootloaderName = 1u << 9;

// Offsets inside the information structure.
constexpr u64 kOffsetMemLower = 4;
constexpr u64 kOffsetMemUpper = 8;
constexpr u64 kOffsetCommandLine = 16;
constexpr u64 kOffsetModulesCount = 20;
constexpr u64 kOffsetModulesAddress = 24;
constexpr u64 kOffsetMemoryMapLength = 44;
constexpr u64 kOffsetMemoryMapAddress = 48;
constexpr u64 kOffsetBootloaderName = 64;
constexpr u64 kInfoSize = 88;  // through the VBE fields; the framebuffer fields are unused

constexpr u64 kModuleEntrySize = 16;
constexpr u64 kMemoryMapEntryMinimum = 20;  // base (8) + length (8) + type (4)

MemoryType memory_type_from(u32 raw) {
    switch (raw) {
        case 1:
            return MemoryType::kUsable;
        case 3:
            return MemoryType::kAcpiReclaimable;
        case 4:
            return MemoryType::kAcpiNvs;
        case 5:
            return MemoryType::kBadMemory;
        default:
            // Multiboot: "any other value indicates a reserved area".
            return MemoryType::kReserved;
    }
}

Status parse_memory_map(const PhysicalMemoryReader& memory, const u8* info, BootInfo* out) {
    u32 length = load_le32(info + kOffsetMemoryMapLength);
    HostPhysAddr address(load_le32(info + kOffsetMemoryMapAddress));
    if (length > kMultiboot1MaxMemoryMapBytes) {
        return make_error(ErrorCode::kOutOfRange,
                          "multiboot1 mmap_length {} exceeds the limit of {} bytes", length,
                          kMultiboot1MaxMemoryMapBytes);
    }
    const u8* map = memory.map(address, length);
    if (map == nullptr) {
        return make_error(ErrorCode::kOutOfRange,
                          "multiboot1 memory map at {} ({} bytes) is not accessible", address,
                          length);
    }
    u64 offset = 0;
    usize index = 0;
    while (offset < length) {
        if (length - offset < 4) {
            return make_error(ErrorCode::kTruncated,
                              "multiboot1 memory map entry {} truncated at offset {}", index,
                              offset);
        }
        u32 entry_size = load_le32(map + offset);
        if (entry_size < kMemoryMapEntryMinimum || entry_size > length - offset - 4) {
            return make_error(ErrorCode::kTruncated,
                              "multiboot1 memory map entry {} has size {} ({} bytes remain)", index,
                              entry_size, length - offset - 4);
        }
        const u8* entry = map + offset + 4;
        u64 base = load_le64(entry);
        u64 size = load_le64(entry + 8);
        u32 type = load_le32(entry + 16);
        Status added = out->add_memory_region(HostPhysAddr(base), size, memory_type_from(type));
        if (!added.ok()) {
            return added.error().prefix("multiboot1 memory map entry {}: ", index);
        }
        offset += entry_size + 4u;
        ++index;
    }
    return ok_status();
}

Status parse_modules(const PhysicalMemoryReader& memory, const u8* info, BootInfo* out) {
    u32 count = load_le32(info + kOffsetModulesCount);
    HostPhysAddr address(load_le32(info + kOffsetModulesAddress));
    if (count > BootInfo::kMaxModules) {
        return make_error(ErrorCode::kOutOfRange,
                          "multiboot1 mods_count {} exceeds the limit of {}", count,
                          BootInfo::kMaxModules);
    }
    const u8* entries = memory.map(address, count * kModuleEntrySize);
    if (count > 0 && entries == nullptr) {
        return make_error(ErrorCode::kOutOfRange,
                          "multiboot1 module list at {} ({} entries) is not accessible", address,
                          count);
    }
    for (u32 i = 0; i < count; ++i) {
        const u8* entry = entries + i * kModuleEntrySize;
        u32 start = load_le32(entry);
        u32 end = load_le32(entry + 4);
        u32 string = load_le32(entry + 8);
        if (end < start) {
            return make_error(ErrorCode::kCorrupt,
                              "multiboot1 module {}: mod_end {:#x} is below mod_start {:#x}", i,
                              end, start);
        }
        std::string_view command_line;
        if (string != 0) {
            auto text = read_physical_string(memory, HostPhysAddr(string), "module command line");
            if (!text.ok()) {
                return text.error().prefix("multiboot1 module {}: ", i);
            }
            command_line = text.value();
        }
        RELAY_TRY(out->add_module(HostPhysAddr(start), end - start, command_line));
    }
    return ok_status();
}

}  // namespace

Status parse_multiboot1(const PhysicalMemoryReader& memory, HostPhysAddr info_address,
                        HostPhysRange image, BootInfo* out) {
    out->protocol = BootProtocol::kMultiboot1;
    out->image = image;
    const u8* info = memory.map(info_address, kInfoSize);
    if (info == nullptr) {
        return make_error(ErrorCode::kOutOfRange, "multiboot1 information at {} is not accessible",
                          info_address);
    }
    out->info_structure = HostPhysRange::unchecked(info_address, kInfoSize);
    u32 flags = load_le32(info);

    if ((flags & kFlagMemoryMap) != 0) {
        RELAY_TRY(parse_memory_map(memory, info, out));
    } else if ((flags & kFlagMemory) != 0) {
        // No map: synthesize one from mem_lower/mem_upper (KiB below 1 MiB / above 1 MiB).
        u64 lower = static_cast<u64>(load_le32(info + kOffsetMemLower)) * KiB;
        u64 upper = static_cast<u64>(load_le32(info + kOffsetMemUpper)) * KiB;
        RELAY_TRY(out->add_memory_region(HostPhysAddr(0), lower, MemoryType::kUsable));
        RELAY_TRY(out->add_memory_region(HostPhysAddr(1 * MiB), upper, MemoryType::kUsable));
    } else {
        return make_error(ErrorCode::kCorrupt,
                          "multiboot1 information has neither a memory map nor memory sizes "
                          "(flags {:#x})",
                          flags);
    }

    if ((flags & kFlagCommandLine) != 0) {
        auto text = read_physical_string(memory, HostPhysAddr(load_le32(info + kOffsetCommandLine)),
                                         "multiboot1 command line");
        if (!text.ok()) {
            return text.error();
        }
        RELAY_TRY(out->set_command_line(strip_image_path(text.value())));
    }
    if ((flags & kFlagModules) != 0) {
        RELAY_TRY(parse_modules(memory, info, out));
    }
    if ((flags & kFlagBootloaderName) != 0) {
        auto text = read_physical_string(
            memory, HostPhysAddr(load_le32(info + kOffsetBootloaderName)), "boot loader name");
        if (!text.ok()) {
            return text.error();
        }
        RELAY_TRY(out->set_bootloader_name(text.value()));
    }
    return out->validate();
}

std::string_view strip_image_path(std::string_view command_line) {
    usize start = 0;
    while (start < command_line.size() && command_line[start] == ' ') {
        ++start;
    }
    usize end = start;
    bool has_equals = false;
    while (end < command_line.size() && command_line[end] != ' ') {
        has_equals = has_equals || command_line[end] == '=';
        ++end;
    }
    if (end == start || has_equals) {
        return suffix_from(command_line, start);
    }
    while (end < command_line.size() && command_line[end] == ' ') {
        ++end;
    }
    return suffix_from(command_line, end);
}

Status parse_boot_information(const PhysicalMemoryReader& memory, u32 magic,
                              HostPhysAddr info_address, HostPhysRange image, BootInfo* out) {
    switch (magic) {
        case kMultiboot1BootloaderMagic:
            return parse_multiboot1(memory, info_address, image, out);
        case kMultiboot2BootloaderMagic:
            return parse_multiboot2(memory, info_address, image, out);
        default:
            return make_error(ErrorCode::kBadMagic, "unknown boot loader magic {:#x}", magic);
    }
}

}  // namespace relay
