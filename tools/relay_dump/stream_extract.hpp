// relay-dump extract: finds streams in a raw memory image (QEMU `pmemsave` output, whose
// file offset 0 is a caller-given physical address) or an ELF core from QEMU
// `dump-guest-memory` (PT_LOAD segments carry physical addresses), by the header magic at
// 8-byte aligned offsets or at a given physical address.
#pragma once

#include <string>
#include <vector>

#include "lib/result.hpp"
#include "tools/relay_dump/stream_file.hpp"

namespace relay::tools {

struct ImageSegment {
    u64 file_offset;
    u64 physical_address;
    u64 size;
};

struct MemoryImage {
    bool is_elf = false;
    std::vector<ImageSegment> segments;
};

// Raw images are one segment starting at `raw_base`.
Result<MemoryImage> describe_image(const FileBytes& image, u64 raw_base);

// The file offset of a physical address, if the image holds it.
Result<u64> file_offset_of(const MemoryImage& image, u64 physical_address);

struct StreamCandidate {
    u64 file_offset = 0;
    u64 physical_address = 0;
    usize stream_size = 0;  // header + payload when the header decoded
    Status status;          // verification result
};

// Every 8-byte aligned occurrence of the magic inside the image's segments.
std::vector<StreamCandidate> find_stream_candidates(const FileBytes& image,
                                                    const MemoryImage& layout);

// The candidate at one file offset.
StreamCandidate check_candidate(const FileBytes& image, const MemoryImage& layout, u64 file_offset);

}  // namespace relay::tools
