#include "hv/elf_loader.hpp"

#include <cstring>

namespace relay {

namespace {

// ELF-64 Object File Format, version 1.5 (and the System V x86-64 psABI).
constexpr u8 kElfClass64 = 2;
constexpr u8 kElfDataLittle = 1;
constexpr u16 kElfTypeExecutable = 2;
constexpr u16 kElfMachineX86_64 = 62;
constexpr u32 kProgramTypeLoad = 1;
constexpr u32 kSegmentExecute = 1;
constexpr u64 kElfHeaderSize = 64;
constexpr u64 kProgramHeaderSize = 56;

struct ElfHeader {
    u8 ident[16];
    u16 type;
    u16 machine;
    u32 version;
    u64 entry;
    u64 program_header_offset;
    u64 section_header_offset;
    u32 flags;
    u16 header_size;
    u16 program_header_size;
    u16 program_header_count;
    u16 section_header_size;
    u16 section_header_count;
    u16 section_name_index;
};
static_assert(sizeof(ElfHeader) == kElfHeaderSize);

struct ProgramHeader {
    u32 type;
    u32 flags;
    u64 offset;
    u64 virtual_address;
    u64 physical_address;
    u64 file_size;
    u64 memory_size;
    u64 alignment;
};
static_assert(sizeof(ProgramHeader) == kProgramHeaderSize);

ProgramHeader program_header(const u8* file, const ElfHeader& header, u32 index) {
    ProgramHeader ph;
    std::memcpy(&ph, file + header.program_header_offset + index * kProgramHeaderSize, sizeof(ph));
    return ph;
}

Result<ElfHeader> check_header(const u8* file, u64 size, const ElfLoadLimits& limits) {
    if (size < kElfHeaderSize) {
        return make_error(ErrorCode::kTruncated,
                          "ELF: file of {} bytes is shorter than the ELF header", size);
    }
    ElfHeader header;
    std::memcpy(&header, file, sizeof(header));
    if (std::memcmp(header.ident,
                    "\x7f"
                    "ELF",
                    4) != 0) {
        return make_error(ErrorCode::kBadMagic, "ELF: not an ELF file (bad magic)");
    }
    if (header.ident[4] != kElfClass64 || header.ident[5] != kElfDataLittle) {
        return make_error(ErrorCode::kUnsupported,
                          "ELF: class {} data {}: only 64-bit little-endian ELF is supported",
                          header.ident[4], header.ident[5]);
    }
    if (header.machine != kElfMachineX86_64) {
        return make_error(ErrorCode::kUnsupported, "ELF: machine {} is not x86-64 (62)",
                          header.machine);
    }
    if (header.type != kElfTypeExecutable) {
        return make_error(ErrorCode::kUnsupported,
                          "ELF: type {} is not an executable (ET_EXEC); relocatable and "
                          "position-independent kernels are not supported",
                          header.type);
    }
    if (header.program_header_size != kProgramHeaderSize) {
        return make_error(ErrorCode::kCorrupt, "ELF: program header size {} (expected {})",
                          header.program_header_size, kProgramHeaderSize);
    }
    if (header.program_header_count == 0 || header.program_header_count > limits.max_segments * 4) {
        return make_error(ErrorCode::kCorrupt, "ELF: {} program headers",
                          header.program_header_count);
    }
    u64 table_bytes = static_cast<u64>(header.program_header_count) * kProgramHeaderSize;
    if (header.program_header_offset > size || table_bytes > size - header.program_header_offset) {
        return make_error(ErrorCode::kTruncated,
                          "ELF: program header table ({} entries at offset {:#x}) lies outside the "
                          "{}-byte file",
                          header.program_header_count, header.program_header_offset, size);
    }
    return header;
}

}  // namespace

Result<ElfImage> inspect_elf(const u8* file, u64 size, const ElfLoadLimits& limits) {
    RELAY_TRY_ASSIGN(header, check_header(file, size, limits));
    ElfImage image;
    image.lowest = GuestPhysAddr(~0ull);
    image.highest = GuestPhysAddr(0);
    bool entry_found = false;
    for (u32 i = 0; i < header.program_header_count; ++i) {
        ProgramHeader ph = program_header(file, header, i);
        if (ph.type != kProgramTypeLoad || ph.memory_size == 0) {
            continue;
        }
        if (++image.segments > limits.max_segments) {
            return make_error(ErrorCode::kOutOfRange, "ELF: more than {} loadable segments",
                              limits.max_segments);
        }
        if (ph.file_size > ph.memory_size) {
            return make_error(ErrorCode::kCorrupt,
                              "ELF: segment {} has file size {:#x} above its memory size {:#x}", i,
                              ph.file_size, ph.memory_size);
        }
        if (ph.offset > size || ph.file_size > size - ph.offset) {
            return make_error(
                ErrorCode::kTruncated,
                "ELF: segment {} (offset {:#x}, {:#x} bytes) lies outside the {}-byte file", i,
                ph.offset, ph.file_size, size);
        }
        GuestPhysAddr start(ph.physical_address);
        if (!start.can_add(ph.memory_size)) {
            return make_error(ErrorCode::kOverflow, "ELF: segment {} at {:#x} + {:#x} wraps", i,
                              ph.physical_address, ph.memory_size);
        }
        GuestPhysAddr end = start + ph.memory_size;
        if (start < limits.lowest || end > limits.highest) {
            return make_error(ErrorCode::kOutOfRange,
                              "ELF: segment {} at {:#x}..{:#x} is outside the allowed guest range "
                              "{:#x}..{:#x}",
                              i, start.raw(), end.raw(), limits.lowest.raw(), limits.highest.raw());
        }
        // Relay's guests run identity-mapped: virtual = physical.
        if (ph.virtual_address != ph.physical_address) {
            return make_error(ErrorCode::kUnsupported,
                              "ELF: segment {} is linked at virtual {:#x} but loads at physical "
                              "{:#x}; Relay starts guests identity-mapped",
                              i, ph.virtual_address, ph.physical_address);
        }
        for (u32 j = 0; j < i; ++j) {
            ProgramHeader other = program_header(file, header, j);
            if (other.type != kProgramTypeLoad || other.memory_size == 0) {
                continue;
            }
            u64 other_start = other.physical_address;
            u64 other_end = other_start + other.memory_size;
            if (start.raw() < other_end && other_start < end.raw()) {
                return make_error(ErrorCode::kCorrupt, "ELF: segments {} and {} overlap", j, i);
            }
        }
        if (start < image.lowest) {
            image.lowest = start;
        }
        if (end > image.highest) {
            image.highest = end;
        }
        if ((ph.flags & kSegmentExecute) != 0 && header.entry >= start.raw() &&
            header.entry < end.raw()) {
            entry_found = true;
        }
    }
    if (image.segments == 0) {
        return make_error(ErrorCode::kCorrupt, "ELF: no loadable segment");
    }
    if (!entry_found) {
        return make_error(ErrorCode::kCorrupt,
                          "ELF: entry point {:#x} is not inside an executable segment",
                          header.entry);
    }
    image.entry = GuestPhysAddr(header.entry);
    return image;
}

Result<ElfImage> load_elf(const u8* file, u64 size, const ElfLoadLimits& limits,
                          GuestMemoryWriter& memory) {
    RELAY_TRY_ASSIGN(image, inspect_elf(file, size, limits));
    ElfHeader header;
    std::memcpy(&header, file, sizeof(header));
    for (u32 i = 0; i < header.program_header_count; ++i) {
        ProgramHeader ph = program_header(file, header, i);
        if (ph.type != kProgramTypeLoad || ph.memory_size == 0) {
            continue;
        }
        GuestPhysAddr start(ph.physical_address);
        RELAY_TRY(memory.write(start, file + ph.offset, ph.file_size));
        RELAY_TRY(memory.zero(start + ph.file_size, ph.memory_size - ph.file_size));
    }
    return image;
}

}  // namespace relay
