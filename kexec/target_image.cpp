#include "kexec/target_image.hpp"
#include "lib/little_endian.hpp"

#include <cstring>

namespace relay::kexec {

namespace {

constexpr u64 kElfHeaderSize = 64;
constexpr u64 kProgramHeaderSize = 56;
constexpr u32 kPtLoad = 1;
constexpr u32 kPtNote = 4;
constexpr u32 kMaxProgramHeaders = 64;
constexpr u64 kMultiboot2Search = 32 * 1024;
constexpr u32 kMultiboot2Magic = 0xE85250D6;

// Multiboot2 header tags (Multiboot2 1.0 §3.1.3).
constexpr u16 kHeaderTagEnd = 0;
constexpr u16 kHeaderTagInformationRequest = 1;
constexpr u16 kHeaderTagEntryAddress = 3;
constexpr u16 kHeaderTagModuleAlignment = 6;
constexpr u16 kHeaderTagRelocatable = 10;
constexpr u16 kHeaderTagOptional = 1;

// Information the handover's multiboot2 writer provides (kexec/multiboot2_writer.hpp).
bool provided(u32 request) {
    return request == 1 || request == 2 || request == 3 || request == 6 || request == 14 ||
           request == 15 || request == 21;
}

struct Segment {
    u32 type;
    u64 offset;
    u64 physical;
    u64 file_size;
    u64 memory_size;
};

Segment segment(const u8* file, u64 table, u32 index) {
    const u8* ph = file + table + index * kProgramHeaderSize;
    return Segment{load_le32(ph), load_le64(ph + 8), load_le64(ph + 24), load_le64(ph + 32),
                   load_le64(ph + 40)};
}

Status parse_multiboot2_header(const u8* file, u64 size, TargetImage* image, u64* entry) {
    u64 limit = size < kMultiboot2Search ? size : kMultiboot2Search;
    for (u64 offset = 0; offset + 16 <= limit; offset += 8) {
        if (load_le32(file + offset) != kMultiboot2Magic) {
            continue;
        }
        u32 architecture = load_le32(file + offset + 4);
        u32 length = load_le32(file + offset + 8);
        u32 checksum = load_le32(file + offset + 12);
        if (static_cast<u32>(kMultiboot2Magic + architecture + length + checksum) != 0) {
            continue;  // not a header, just the magic value in data
        }
        if (architecture != 0) {
            return make_error(ErrorCode::kUnsupported,
                              "image: multiboot2 architecture {} is not i386", architecture);
        }
        if (length < 24 || length > size - offset) {
            return make_error(ErrorCode::kCorrupt, "image: multiboot2 header length {} is invalid",
                              length);
        }
        bool have_entry = false;
        bool have_relocatable = false;
        bool have_end = false;
        u64 cursor = offset + 16;
        u64 end = offset + length;
        while (cursor + 8 <= end) {
            u16 type = load_le16(file + cursor);
            u16 flags = load_le16(file + cursor + 2);
            u32 tag_size = load_le32(file + cursor + 4);
            if (tag_size < 8 || tag_size > end - cursor) {
                return make_error(ErrorCode::kCorrupt,
                                  "image: multiboot2 header tag {} at offset {:#x} has size {}",
                                  type, cursor, tag_size);
            }
            switch (type) {
                case kHeaderTagEnd:
                    have_end = true;
                    break;
                case kHeaderTagInformationRequest:
                    for (u32 i = 8; i + 4 <= tag_size; i += 4) {
                        u32 request = load_le32(file + cursor + i);
                        if (!provided(request) && (flags & kHeaderTagOptional) == 0) {
                            return make_error(ErrorCode::kUnsupported,
                                              "image: requires multiboot2 information type {}, "
                                              "which a live update does not provide",
                                              request);
                        }
                    }
                    break;
                case kHeaderTagEntryAddress:
                    if (tag_size < 12) {
                        return make_error(ErrorCode::kCorrupt, "image: short entry address tag");
                    }
                    *entry = load_le32(file + cursor + 8);
                    have_entry = true;
                    break;
                case kHeaderTagModuleAlignment:
                    break;
                case kHeaderTagRelocatable:
                    if (tag_size < 24) {
                        return make_error(ErrorCode::kCorrupt, "image: short relocatable tag");
                    }
                    image->alignment = load_le32(file + cursor + 16);
                    have_relocatable = true;
                    break;
                default:
                    if ((flags & kHeaderTagOptional) == 0) {
                        return make_error(ErrorCode::kUnsupported,
                                          "image: requires multiboot2 header tag {}, which a live "
                                          "update does not honour",
                                          type);
                    }
                    break;
            }
            if (have_end) {
                break;
            }
            cursor += (tag_size + 7) & ~7u;
        }
        if (!have_end) {
            return make_error(ErrorCode::kCorrupt, "image: multiboot2 header has no end tag");
        }
        if (!have_entry) {
            return make_error(ErrorCode::kUnsupported,
                              "image: multiboot2 header has no entry address tag");
        }
        if (!have_relocatable) {
            return make_error(
                ErrorCode::kUnsupported,
                "image: not relocatable (no multiboot2 relocatable tag); a live update "
                "stages the target at an address of its choosing");
        }
        if (image->alignment == 0 || (image->alignment & (image->alignment - 1)) != 0 ||
            image->alignment > 1 * GiB) {
            return make_error(ErrorCode::kCorrupt,
                              "image: relocatable alignment {:#x} is not a power of two",
                              image->alignment);
        }
        return ok_status();
    }
    return make_error(ErrorCode::kBadMagic,
                      "image: no multiboot2 header in the first 32 KiB (not a Relay image?)");
}

// Walks the notes of a PT_NOTE segment.
Status parse_notes(const u8* notes, u64 size, TargetImage* image, bool* found_compatibility) {
    u64 cursor = 0;
    while (cursor + 12 <= size) {
        u32 name_size = load_le32(notes + cursor);
        u32 desc_size = load_le32(notes + cursor + 4);
        u32 type = load_le32(notes + cursor + 8);
        u64 name_padded = (static_cast<u64>(name_size) + 3) & ~3ull;
        u64 desc_padded = (static_cast<u64>(desc_size) + 3) & ~3ull;
        if (name_padded > size - cursor - 12 || desc_padded > size - cursor - 12 - name_padded) {
            return make_error(ErrorCode::kCorrupt, "image: ELF note at offset {} is truncated",
                              cursor);
        }
        const u8* name = notes + cursor + 12;
        const u8* desc = name + name_padded;
        if (name_size == sizeof(kRelayNoteName) &&
            std::memcmp(name, kRelayNoteName, name_size) == 0 && type == kRelayNoteCompatibility) {
            auto note = stream::decode_compatibility_note(desc, desc_size);
            if (!note.ok()) {
                return note.error().prefix("image: compatibility note: ");
            }
            image->compatibility = note.value();
            *found_compatibility = true;
        } else if (name_size == 4 && std::memcmp(name, "GNU", 4) == 0 && type == 3) {
            u32 length = desc_size < stream::kBuildIdBytes ? desc_size : stream::kBuildIdBytes;
            std::memcpy(image->build_id.bytes, desc, length);
            image->build_id_length = length;
        }
        cursor += 12 + name_padded + desc_padded;
    }
    return ok_status();
}

}  // namespace

Result<TargetImage> inspect_target_image(const u8* file, u64 size, u64 max_load_size) {
    if (size < kElfHeaderSize) {
        return make_error(ErrorCode::kTruncated, "image: {} bytes is too small for an ELF header",
                          size);
    }
    if (std::memcmp(file,
                    "\x7f"
                    "ELF",
                    4) != 0) {
        return make_error(ErrorCode::kBadMagic, "image: not an ELF file");
    }
    if (file[4] != 2 || file[5] != 1 || load_le16(file + 18) != 62 || load_le16(file + 16) != 2) {
        return make_error(ErrorCode::kUnsupported,
                          "image: not an ELF64 little-endian x86-64 executable");
    }
    u64 table = load_le64(file + 32);
    u16 entry_size = load_le16(file + 54);
    u16 count = load_le16(file + 56);
    if (entry_size != kProgramHeaderSize || count == 0 || count > kMaxProgramHeaders) {
        return make_error(ErrorCode::kCorrupt, "image: {} program headers of {} bytes", count,
                          entry_size);
    }
    if (table > size || static_cast<u64>(count) * kProgramHeaderSize > size - table) {
        return make_error(ErrorCode::kTruncated, "image: program headers lie outside the file");
    }
    TargetImage image;
    u64 lowest = ~0ull;
    u64 highest = 0;
    bool found_compatibility = false;
    for (u32 i = 0; i < count; ++i) {
        Segment s = segment(file, table, i);
        if (s.offset > size || s.file_size > size - s.offset) {
            return make_error(ErrorCode::kTruncated, "image: segment {} lies outside the file", i);
        }
        if (s.type == kPtNote) {
            RELAY_TRY(parse_notes(file + s.offset, s.file_size, &image, &found_compatibility));
            continue;
        }
        if (s.type != kPtLoad || s.memory_size == 0) {
            continue;
        }
        if (s.file_size > s.memory_size) {
            return make_error(ErrorCode::kCorrupt,
                              "image: segment {} file size exceeds memory size", i);
        }
        if (s.physical > 0xFFFFFFFFull || s.memory_size > 0xFFFFFFFFull - s.physical) {
            return make_error(ErrorCode::kOutOfRange, "image: segment {} is not below 4 GiB", i);
        }
        for (u32 j = 0; j < i; ++j) {
            Segment other = segment(file, table, j);
            if (other.type == kPtLoad && other.memory_size != 0 &&
                s.physical < other.physical + other.memory_size &&
                other.physical < s.physical + s.memory_size) {
                return make_error(ErrorCode::kCorrupt, "image: segments {} and {} overlap", j, i);
            }
        }
        lowest = s.physical < lowest ? s.physical : lowest;
        highest = s.physical + s.memory_size > highest ? s.physical + s.memory_size : highest;
    }
    if (highest == 0) {
        return make_error(ErrorCode::kCorrupt, "image: no loadable segment");
    }
    image.link_base = lowest;
    image.load_size = highest - lowest;
    if (image.load_size > max_load_size) {
        return make_error(ErrorCode::kOutOfRange,
                          "image: {} KiB loaded does not fit the {} KiB staging area (half the "
                          "handover region, less the target's workspace)",
                          image.load_size / KiB, max_load_size / KiB);
    }
    u64 entry = 0;
    RELAY_TRY(parse_multiboot2_header(file, size, &image, &entry));
    if (entry < lowest || entry >= highest) {
        return make_error(ErrorCode::kCorrupt,
                          "image: entry {:#x} is outside the image {:#x}..{:#x}", entry, lowest,
                          highest);
    }
    image.entry_offset = entry - lowest;
    if (!found_compatibility) {
        return make_error(ErrorCode::kUnsupported,
                          "image: no Relay compatibility note (an image must say which streams it "
                          "reads before Relay hands it the machine)");
    }
    return image;
}

void stage_target_image(const TargetImage& image, const u8* file, u8* destination) {
    std::memset(destination, 0, image.load_size);
    u64 table = load_le64(file + 32);
    u16 count = load_le16(file + 56);
    for (u32 i = 0; i < count; ++i) {
        Segment s = segment(file, table, i);
        if (s.type != kPtLoad || s.memory_size == 0) {
            continue;
        }
        std::memcpy(destination + (s.physical - image.link_base), file + s.offset, s.file_size);
    }
}

}  // namespace relay::kexec
