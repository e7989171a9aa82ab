// Multiboot2 1.0 §3.6: boot information is a sequence of 8-byte aligned tags.
#include <cstring>

#include "hv/boot/multiboot.hpp"
#include "lib/little_endian.hpp"

namespace relay {

namespace {

enum TagType : u32 {
    kTagEnd = 0,
    kTagCommandLine = 1,
    kTagBootloaderName = 2,
    kTagModule = 3,
    kTagBasicMemory = 4,
    kTagMemoryMap = 6,
    kTagAcpiOld = 14,
    kTagAcpiNew = 15,
    kTagLoadBase = 21,
};

constexpr u64 kHeaderSize = 8;  // total_size, reserved
constexpr u64 kTagHeaderSize = 8;
constexpr u64 kMemoryMapEntryMinimum = 24;  // base (8) + length (8) + type (4) + reserved (4)

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
        case 0x5245'4C59:  // "RELY": kexec/multiboot2_writer.hpp
            return MemoryType::kPreserved;
        default:
            return MemoryType::kReserved;
    }
}

struct Tag {
    u32 type;
    u32 size;
    u64 offset;      // from the start of the information
    const u8* data;  // tag start
};

// A tag's string payload must be NUL-terminated inside the tag.
Result<std::string_view> tag_string(const Tag& tag, u64 string_offset, const char* what) {
    if (tag.size < string_offset + 1) {
        return make_error(ErrorCode::kTruncated,
                          "multiboot2 {} tag at offset {} is too small ({} bytes)", what,
                          tag.offset, tag.size);
    }
    const char* text = reinterpret_cast<const char*>(tag.data + string_offset);
    u64 room = tag.size - string_offset;
    for (u64 i = 0; i < room; ++i) {
        if (text[i] == '\0') {
            return std::string_view(text, i);
        }
    }
    return make_error(ErrorCode::kCorrupt,
                      "multiboot2 {} tag at offset {}: string is not NUL-terminated", what,
                      tag.offset);
}

Status parse_memory_map(const Tag& tag, BootInfo* out) {
    if (tag.size < 16) {
        return make_error(ErrorCode::kTruncated,
                          "multiboot2 memory map tag at offset {} is too small ({} bytes)",
                          tag.offset, tag.size);
    }
    u32 entry_size = load_le32(tag.data + 8);
    if (entry_size < kMemoryMapEntryMinimum || entry_size % 8 != 0) {
        return make_error(ErrorCode::kCorrupt,
                          "multiboot2 memory map tag at offset {}: entry_size {} is invalid",
                          tag.offset, entry_size);
    }
    u64 entries_bytes = tag.size - 16;
    if (entries_bytes % entry_size != 0) {
        return make_error(ErrorCode::kTruncated,
                          "multiboot2 memory map tag at offset {}: {} bytes of entries are not a "
                          "multiple of entry_size {}",
                          tag.offset, entries_bytes, entry_size);
    }
    u64 count = entries_bytes / entry_size;
    for (u64 i = 0; i < count; ++i) {
        const u8* entry = tag.data + 16 + i * entry_size;
        Status added = out->add_memory_region(HostPhysAddr(load_le64(entry)), load_le64(entry + 8),
                                              memory_type_from(load_le32(entry + 16)));
        if (!added.ok()) {
            return added.error().prefix("multiboot2 memory map entry {}: ", i);
        }
    }
    return ok_status();
}

Status parse_module(const Tag& tag, BootInfo* out) {
    if (tag.size < 17) {
        return make_error(ErrorCode::kTruncated,
                          "multiboot2 module tag at offset {} is too small ({} bytes)", tag.offset,
                          tag.size);
    }
    u32 start = load_le32(tag.data + 8);
    u32 end = load_le32(tag.data + 12);
    if (end < start) {
        return make_error(ErrorCode::kCorrupt,
                          "multiboot2 module {}: mod_end {:#x} is below mod_start {:#x}",
                          out->module_count, end, start);
    }
    RELAY_TRY_ASSIGN(command_line, tag_string(tag, 16, "module"));
    return out->add_module(HostPhysAddr(start), end - start, command_line);
}

}  // namespace

Status parse_multiboot2(const PhysicalMemoryReader& memory, HostPhysAddr info_address,
                        HostPhysRange image, BootInfo* out) {
    out->protocol = BootProtocol::kMultiboot2;
    out->image = image;
    if (!info_address.is_aligned(8)) {
        return make_error(ErrorCode::kCorrupt, "multiboot2 information at {} is not 8-byte aligned",
                          info_address);
    }
    const u8* header = memory.map(info_address, kHeaderSize);
    if (header == nullptr) {
        return make_error(ErrorCode::kOutOfRange, "multiboot2 information at {} is not accessible",
                          info_address);
    }
    u32 total_size = load_le32(header);
    if (total_size < kHeaderSize + kTagHeaderSize) {
        return make_error(ErrorCode::kTruncated,
                          "multiboot2 total_size {} cannot hold even the end tag", total_size);
    }
    if (total_size > kMultiboot2MaxInfoBytes) {
        return make_error(ErrorCode::kOutOfRange,
                          "multiboot2 total_size {} exceeds the limit of {} bytes", total_size,
                          kMultiboot2MaxInfoBytes);
    }
    const u8* info = memory.map(info_address, total_size);
    if (info == nullptr) {
        return make_error(ErrorCode::kOutOfRange,
                          "multiboot2 information at {} ({} bytes) is not accessible", info_address,
                          total_size);
    }
    out->info_structure = HostPhysRange::unchecked(info_address, total_size);

    bool seen_command_line = false;
    bool seen_bootloader_name = false;
    bool seen_memory_map = false;
    bool seen_end = false;
    u64 basic_lower_kib = 0;
    u64 basic_upper_kib = 0;
    bool seen_basic_memory = false;
    const u8* acpi_old = nullptr;
    const u8* acpi_new = nullptr;
    u64 acpi_new_length = 0;

    u64 offset = kHeaderSize;
    usize index = 0;
    while (offset < total_size) {
        if (total_size - offset < kTagHeaderSize) {
            return make_error(ErrorCode::kTruncated,
                              "multiboot2 tag {} at offset {}: header truncated (total_size {})",
                              index, offset, total_size);
        }
        Tag tag{load_le32(info + offset), load_le32(info + offset + 4), offset, info + offset};
        if (tag.size < kTagHeaderSize) {
            return make_error(ErrorCode::kCorrupt,
                              "multiboot2 tag {} (type {}) at offset {} has size {}", index,
                              tag.type, offset, tag.size);
        }
        if (tag.size > total_size - offset) {
            return make_error(ErrorCode::kTruncated,
                              "multiboot2 tag {} (type {}) at offset {} with size {} extends past "
                              "total_size {}",
                              index, tag.type, offset, tag.size, total_size);
        }
        switch (tag.type) {
            case kTagEnd:
                if (tag.size != kTagHeaderSize) {
                    return make_error(ErrorCode::kCorrupt,
                                      "multiboot2 end tag at offset {} has size {}", offset,
                                      tag.size);
                }
                seen_end = true;
                break;
            case kTagCommandLine: {
                if (seen_command_line) {
                    return make_error(ErrorCode::kCorrupt,
                                      "multiboot2: second command line tag at offset {}", offset);
                }
                seen_command_line = true;
                RELAY_TRY_ASSIGN(text, tag_string(tag, 8, "command line"));
                RELAY_TRY(out->set_command_line(strip_image_path(text)));
                break;
            }
            case kTagBootloaderName: {
                if (seen_bootloader_name) {
                    return make_error(ErrorCode::kCorrupt,
                                      "multiboot2: second boot loader name tag at offset {}",
                                      offset);
                }
                seen_bootloader_name = true;
                RELAY_TRY_ASSIGN(text, tag_string(tag, 8, "boot loader name"));
                RELAY_TRY(out->set_bootloader_name(text));
                break;
            }
            case kTagModule:
                RELAY_TRY(parse_module(tag, out));
                break;
            case kTagBasicMemory:
                if (tag.size < 16) {
                    return make_error(ErrorCode::kTruncated,
                                      "multiboot2 basic memory tag at offset {} is too small",
                                      offset);
                }
                seen_basic_memory = true;
                basic_lower_kib = load_le32(tag.data + 8);
                basic_upper_kib = load_le32(tag.data + 12);
                break;
            case kTagMemoryMap:
                if (seen_memory_map) {
                    return make_error(ErrorCode::kCorrupt,
                                      "multiboot2: second memory map tag at offset {}", offset);
                }
                seen_memory_map = true;
                RELAY_TRY(parse_memory_map(tag, out));
                break;
            case kTagAcpiOld:
                if (tag.size < kTagHeaderSize + 20) {
                    return make_error(ErrorCode::kTruncated,
                                      "multiboot2 ACPI (old RSDP) tag at offset {} is too small",
                                      offset);
                }
                acpi_old = tag.data + kTagHeaderSize;
                break;
            case kTagAcpiNew:
                if (tag.size < kTagHeaderSize + 36) {
                    return make_error(ErrorCode::kTruncated,
                                      "multiboot2 ACPI (new RSDP) tag at offset {} is too small",
                                      offset);
                }
                acpi_new = tag.data + kTagHeaderSize;
                acpi_new_length = 36;
                break;
            case kTagLoadBase:
                if (tag.size < 12) {
                    return make_error(ErrorCode::kTruncated,
                                      "multiboot2 load base tag at offset {} is too small", offset);
                }
                out->has_load_base = true;
                out->load_base = HostPhysAddr(load_le32(tag.data + 8));
                break;
            default:
                break;  // tags Relay does not use (framebuffer, EFI, ...)
        }
        if (seen_end) {
            break;
        }
        u64 advance = (static_cast<u64>(tag.size) + 7) & ~7ull;
        offset += advance;
        ++index;
    }
    if (!seen_end) {
        return make_error(ErrorCode::kTruncated, "multiboot2 information has no end tag");
    }
    if (!seen_memory_map) {
        if (!seen_basic_memory) {
            return make_error(ErrorCode::kCorrupt,
                              "multiboot2 information has neither a memory map nor basic memory "
                              "information");
        }
        RELAY_TRY(
            out->add_memory_region(HostPhysAddr(0), basic_lower_kib * KiB, MemoryType::kUsable));
        RELAY_TRY(out->add_memory_region(HostPhysAddr(1 * MiB), basic_upper_kib * KiB,
                                         MemoryType::kUsable));
    }
    if (acpi_new != nullptr) {
        std::memcpy(out->rsdp, acpi_new, acpi_new_length);
        out->rsdp_length = acpi_new_length;
    } else if (acpi_old != nullptr) {
        std::memcpy(out->rsdp, acpi_old, 20);
        out->rsdp_length = 20;
    }
    return out->validate();
}

}  // namespace relay
