#include "migration_stream/compatibility.hpp"

#include "lib/little_endian.hpp"
#include "migration_stream/features.hpp"

namespace relay::stream {

CompatibilityNote this_build_compatibility_note() {
    CompatibilityNote note;
    note.stream_format_version = kStreamFormatVersion;
    note.schema_major_min = kOldestReadableSchemaMajor;
    note.schema_major_max = kSchemaMajor;
    note.schema_minor = kSchemaMinor;
    note.known_required_features = known_feature_mask(FeatureClass::kRequired);
    note.known_optional_features = known_feature_mask(FeatureClass::kOptional);
    return note;
}

Status check_compatibility(const CompatibilityNote& note, const StreamHeader& header) {
    if (header.format_version != note.stream_format_version) {
        return Error(ErrorCode::kVersionMismatch,
                     "stream format version {} is not readable by the reading build (it reads "
                     "format {})",
                     header.format_version, note.stream_format_version);
    }
    if (header.schema_major < note.schema_major_min ||
        header.schema_major > note.schema_major_max) {
        return Error(ErrorCode::kVersionMismatch,
                     "unknown schema major: stream schema {}.{}, the reading build reads majors "
                     "{} to {}",
                     header.schema_major, header.schema_minor, note.schema_major_min,
                     note.schema_major_max);
    }
    u64 unknown = header.required_features & ~note.known_required_features;
    if (unknown != 0) {
        u8 bit = static_cast<u8>(__builtin_ctzll(unknown));
        bool others = (unknown & (unknown - 1)) != 0;
        const FeatureInfo* info = find_feature(FeatureClass::kRequired, bit);
        if (info != nullptr) {
            return Error(ErrorCode::kUnsupported,
                         "unknown required feature bit {} (\"{}\", schema {}.{}) is not known to "
                         "the reading build{}",
                         bit, info->name, kSchemaMajor, info->since_schema_minor,
                         others ? " (and others)" : "");
        }
        return Error(ErrorCode::kUnsupported, "unknown required feature bit {}{}", bit,
                     others ? " (and others)" : "");
    }
    return ok_status();
}

void encode_compatibility_note(const CompatibilityNote& note, u8 (&out)[kCompatibilityNoteBytes]) {
    for (u8& byte : out) {
        byte = 0;
    }
    store_le(out + 0, note.note_version, 4);
    store_le(out + 4, note.stream_format_version, 2);
    store_le(out + 6, note.schema_major_min, 2);
    store_le(out + 8, note.schema_major_max, 2);
    store_le(out + 10, note.schema_minor, 2);
    store_le(out + 16, note.known_required_features, 8);
    store_le(out + 24, note.known_optional_features, 8);
}

Result<CompatibilityNote> decode_compatibility_note(const void* bytes, usize size) {
    const u8* in = static_cast<const u8*>(bytes);
    if (size < kCompatibilityNoteBytes) {
        return Error(ErrorCode::kTruncated, "compatibility note is {} bytes, expected {}", size,
                     kCompatibilityNoteBytes);
    }
    CompatibilityNote note;
    note.note_version = static_cast<u32>(load_le(in, 4));
    if (note.note_version != kCompatibilityNoteVersion) {
        return Error(ErrorCode::kVersionMismatch,
                     "compatibility note version {} is not known (this build reads version {})",
                     note.note_version, kCompatibilityNoteVersion);
    }
    if (load_le(in + 12, 4) != 0 || load_le(in + 32, 8) != 0) {
        return Error(ErrorCode::kCorrupt, "compatibility note has non-zero reserved bytes");
    }
    note.stream_format_version = static_cast<u16>(load_le(in + 4, 2));
    note.schema_major_min = static_cast<u16>(load_le(in + 6, 2));
    note.schema_major_max = static_cast<u16>(load_le(in + 8, 2));
    note.schema_minor = static_cast<u16>(load_le(in + 10, 2));
    note.known_required_features = load_le(in + 16, 8);
    note.known_optional_features = load_le(in + 24, 8);
    if (note.schema_major_min > note.schema_major_max) {
        return Error(ErrorCode::kCorrupt, "compatibility note schema major range {}..{} is empty",
                     note.schema_major_min, note.schema_major_max);
    }
    return note;
}

}  // namespace relay::stream
