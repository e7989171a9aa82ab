#include "migration_stream/compatibility.hpp"

#include <gtest/gtest.h>

#include <string>

#include "migration_stream/features.hpp"

namespace relay::stream {
namespace {

StreamHeader header_with(u16 major, u16 minor, u64 required) {
    StreamHeader header;
    header.schema_major = major;
    header.schema_minor = minor;
    header.required_features = required;
    return header;
}

TEST(Compatibility, ThisBuildReadsItsOwnStreamsAndNewerMinors) {
    CompatibilityNote note = this_build_compatibility_note();
    EXPECT_TRUE(check_compatibility(
                    note, header_with(kSchemaMajor, kSchemaMinor, note.known_required_features))
                    .ok());
    EXPECT_TRUE(check_compatibility(note, header_with(kSchemaMajor, kSchemaMinor + 5, 0)).ok());
    EXPECT_TRUE(check_compatibility(note, header_with(kSchemaMajor, 0, 0)).ok());
}

TEST(Compatibility, RefusesUnknownMajor) {
    CompatibilityNote note = this_build_compatibility_note();
    Status status = check_compatibility(note, header_with(kSchemaMajor + 1, 0, 0));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kVersionMismatch);
    EXPECT_NE(std::string(status.error().message()).find("unknown schema major: stream schema 2.0"),
              std::string::npos)
        << status.error().message();
    EXPECT_FALSE(check_compatibility(note, header_with(0, 9, 0)).ok());
}

// A newer build checking an older target's note names the bit it knows.
TEST(Compatibility, NamesAKnownFeatureTheTargetLacks) {
    CompatibilityNote old_target = this_build_compatibility_note();
    old_target.known_required_features &= ~feature_mask(Feature::kCetState);
    Status status =
        check_compatibility(old_target, header_with(1, 1, feature_mask(Feature::kCetState)));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(std::string(status.error().message()),
              "unknown required feature bit 3 (\"cet-state\", schema 1.1) is not known to the "
              "reading build");
}

TEST(Compatibility, NamesAnUnknownBitByNumber) {
    Status status =
        check_compatibility(this_build_compatibility_note(), header_with(1, 9, u64{1} << 37));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(std::string(status.error().message()), "unknown required feature bit 37");
}

TEST(Compatibility, UnknownOptionalBitsAreFine) {
    StreamHeader header = header_with(1, 9, 0);
    header.optional_features = ~u64{0};
    EXPECT_TRUE(check_compatibility(this_build_compatibility_note(), header).ok());
}

TEST(Compatibility, NoteEncodingRoundTripsAndRefusesGarbage) {
    CompatibilityNote note = this_build_compatibility_note();
    u8 bytes[kCompatibilityNoteBytes];
    encode_compatibility_note(note, bytes);
    EXPECT_EQ(bytes[0], 1);  // note version, little-endian
    auto decoded = decode_compatibility_note(bytes, sizeof(bytes));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(decoded->schema_major_max, kSchemaMajor);
    EXPECT_EQ(decoded->schema_minor, kSchemaMinor);
    EXPECT_EQ(decoded->known_required_features, note.known_required_features);
    EXPECT_EQ(decoded->known_optional_features, note.known_optional_features);

    EXPECT_EQ(decode_compatibility_note(bytes, 39).error().code(), ErrorCode::kTruncated);
    u8 reserved[kCompatibilityNoteBytes];
    encode_compatibility_note(note, reserved);
    reserved[13] = 1;
    EXPECT_EQ(decode_compatibility_note(reserved, sizeof(reserved)).error().code(),
              ErrorCode::kCorrupt);
    u8 version[kCompatibilityNoteBytes];
    encode_compatibility_note(note, version);
    version[0] = 2;
    EXPECT_EQ(decode_compatibility_note(version, sizeof(version)).error().code(),
              ErrorCode::kVersionMismatch);
}

}  // namespace
}  // namespace relay::stream
