// A build's compatibility note: which streams it accepts. The hypervisor embeds this
// build's note as an ELF note in its image; before pausing anything, the live-update
// pre-flight reads the target image's note and calls check_compatibility() against the
// header it is about to write (DESIGN.md, "Live update, step by step", step 2). The
// verifier applies this build's own note to every stream it reads.
#pragma once

#include "lib/result.hpp"
#include "lib/types.hpp"
#include "migration_stream/stream_header.hpp"

namespace relay::stream {

inline constexpr u32 kCompatibilityNoteVersion = 1;
inline constexpr usize kCompatibilityNoteBytes = 40;

struct CompatibilityNote {
    u32 note_version = kCompatibilityNoteVersion;
    u16 stream_format_version = 0;  // the header format the build reads
    u16 schema_major_min = 0;       // oldest schema major it reads
    u16 schema_major_max = 0;       // newest schema major it reads (its own)
    u16 schema_minor = 0;           // newest minor of schema_major_max it knows
    u64 known_required_features = 0;
    u64 known_optional_features = 0;
};

// What this build accepts.
CompatibilityNote this_build_compatibility_note();

// OK when a build with `note` can read a stream with `header`: same format version,
// schema major inside its range, and every required feature bit known. A newer schema
// minor is fine (unknown optional data is ignored). Messages name the build ("target")
// and the unknown bit, using this build's feature names when it knows them.
Status check_compatibility(const CompatibilityNote& note, const StreamHeader& header);

// Fixed little-endian encoding for the ELF note descriptor (docs/stream-format.md,
// "Compatibility note"): u32 note_version, u16 format, u16 major_min, u16 major_max,
// u16 minor, u32 reserved (zero), u64 required, u64 optional, u64 reserved (zero).
void encode_compatibility_note(const CompatibilityNote& note, u8 (&out)[kCompatibilityNoteBytes]);
Result<CompatibilityNote> decode_compatibility_note(const void* bytes, usize size);

}  // namespace relay::stream
