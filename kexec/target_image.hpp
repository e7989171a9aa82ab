// A live update's target image: the ELF file of another Relay build, as the control
// domain hands it over. Before anything is staged it must prove to be a Relay image that
// can boot from where it will be put: ELF64 x86-64, Relay's multiboot2 header (entry
// address and relocatable tags, nothing requested that the handover does not provide),
// a compatibility note saying which streams it reads, and a size that fits half of the
// handover region (docs/live-update.md, "Staging").
#pragma once

#include "lib/result.hpp"
#include "migration_stream/compatibility.hpp"
#include "migration_stream/stream_header.hpp"

namespace relay::kexec {

// ELF note carrying the encoded CompatibilityNote (migration_stream/compatibility.hpp).
inline constexpr char kRelayNoteName[] = "Relay";
inline constexpr u32 kRelayNoteCompatibility = 1;

struct TargetImage {
    u64 link_base = 0;     // lowest PT_LOAD physical address
    u64 load_size = 0;     // through the end of .bss
    u64 entry_offset = 0;  // 32-bit entry, from the load base
    u64 alignment = 0;     // the relocatable tag's alignment
    stream::CompatibilityNote compatibility;
    stream::BuildId build_id;  // GNU build id (zero-padded), when the image has one
    u32 build_id_length = 0;
};

// Validates `file` (hostile until checked). `max_load_size` is what the staging area holds.
Result<TargetImage> inspect_target_image(const u8* file, u64 size, u64 max_load_size);

// Lays the image out at `destination` (load_size bytes): each PT_LOAD at its offset from
// the link base, .bss and gaps zeroed. `file` must be the one inspected.
void stage_target_image(const TargetImage& image, const u8* file, u8* destination);

}  // namespace relay::kexec
