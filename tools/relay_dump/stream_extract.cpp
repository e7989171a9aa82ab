#include "tools/relay_dump/stream_extract.hpp"

#include <elf.h>

#include <cstring>

#include "migration_stream/stream_header.hpp"
#include "migration_stream/stream_verifier.hpp"

namespace relay::tools {

Result<MemoryImage> describe_image(const FileBytes& image, u64 raw_base) {
    MemoryImage layout;
    const u8* bytes = image.data();
    if (image.size() >= sizeof(Elf64_Ehdr) && std::memcmp(bytes, ELFMAG, SELFMAG) == 0) {
        Elf64_Ehdr header;
        std::memcpy(&header, bytes, sizeof(header));
        if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
            return Error(ErrorCode::kUnsupported,
                         "ELF image is not 64-bit little-endian (QEMU dump-guest-memory of an "
                         "x86-64 guest is)");
        }
        u64 table_end = 0;
        if (header.e_phentsize != sizeof(Elf64_Phdr) ||
            __builtin_mul_overflow(u64{header.e_phnum}, sizeof(Elf64_Phdr), &table_end) ||
            __builtin_add_overflow(table_end, header.e_phoff, &table_end) ||
            table_end > image.size()) {
            return Error(ErrorCode::kTruncated, "ELF program headers lie outside the {}-byte image",
                         image.size());
        }
        layout.is_elf = true;
        for (u16 i = 0; i < header.e_phnum; ++i) {
            Elf64_Phdr segment;
            std::memcpy(&segment, bytes + header.e_phoff + i * sizeof(Elf64_Phdr), sizeof(segment));
            if (segment.p_type != PT_LOAD || segment.p_filesz == 0) {
                continue;
            }
            u64 end = 0;
            if (__builtin_add_overflow(segment.p_offset, segment.p_filesz, &end) ||
                end > image.size()) {
                return Error(ErrorCode::kTruncated,
                             "ELF segment {} [{:#x}, +{:#x}) lies outside the {}-byte image", i,
                             segment.p_offset, segment.p_filesz, image.size());
            }
            layout.segments.push_back({segment.p_offset, segment.p_paddr, segment.p_filesz});
        }
        return layout;
    }
    layout.segments.push_back({0, raw_base, image.size()});
    return layout;
}

Result<u64> file_offset_of(const MemoryImage& image, u64 physical_address) {
    for (const ImageSegment& segment : image.segments) {
        if (physical_address >= segment.physical_address &&
            physical_address - segment.physical_address < segment.size) {
            return segment.file_offset + (physical_address - segment.physical_address);
        }
    }
    return Error(ErrorCode::kOutOfRange, "physical address {:#x} is not in the image",
                 physical_address);
}

StreamCandidate check_candidate(const FileBytes& image, const MemoryImage& layout,
                                u64 file_offset) {
    StreamCandidate candidate;
    candidate.file_offset = file_offset;
    candidate.physical_address = file_offset;
    const ImageSegment* containing = nullptr;
    for (const ImageSegment& segment : layout.segments) {
        if (file_offset >= segment.file_offset &&
            file_offset - segment.file_offset < segment.size) {
            containing = &segment;
            candidate.physical_address =
                segment.physical_address + (file_offset - segment.file_offset);
        }
    }
    if (containing == nullptr) {
        candidate.status =
            Error(ErrorCode::kOutOfRange, "offset {:#x} is outside the image", file_offset);
        return candidate;
    }
    // A stream never continues past its segment (the next one may not be adjacent memory).
    usize available = static_cast<usize>(containing->file_offset + containing->size - file_offset);
    const u8* start = image.data() + file_offset;
    auto header = stream::decode_stream_header(start, available);
    if (!header.ok()) {
        candidate.status = header.error();
        return candidate;
    }
    candidate.stream_size = static_cast<usize>(stream::kStreamHeaderSize + header->payload_size);
    FileBytes copy = copy_bytes(start, candidate.stream_size);  // aligned, whatever the offset
    auto verified = stream::verify_stream(copy.data(), copy.size());
    if (!verified.ok()) {
        candidate.status = verified.error();
    }
    return candidate;
}

std::vector<StreamCandidate> find_stream_candidates(const FileBytes& image,
                                                    const MemoryImage& layout) {
    std::vector<StreamCandidate> candidates;
    for (const ImageSegment& segment : layout.segments) {
        u64 first = (segment.file_offset + 7) & ~u64{7};
        for (u64 offset = first;
             offset + sizeof(stream::kStreamMagic) <= segment.file_offset + segment.size;
             offset += 8) {
            if (std::memcmp(image.data() + offset, stream::kStreamMagic,
                            sizeof(stream::kStreamMagic)) == 0) {
                candidates.push_back(check_candidate(image, layout, offset));
            }
        }
    }
    return candidates;
}

}  // namespace relay::tools
