#include "migration_stream/stream_header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay::stream {
namespace {

StreamHeader sample_header() {
    StreamHeader header;
    header.kind = StreamKind::kRestore;
    header.schema_major = 1;
    header.schema_minor = 7;
    header.required_features = 0x0102030405060708ull;
    header.optional_features = 0x1112131415161718ull;
    for (usize i = 0; i < kBuildIdBytes; ++i) {
        header.producer_build.bytes[i] = static_cast<u8>(0xC0 + i);
    }
    header.payload_size = 0x20;
    for (usize i = 0; i < kSha256Bytes; ++i) {
        header.digest.bytes[i] = static_cast<u8>(i);
    }
    return header;
}

std::vector<u8> encoded_with_payload(const StreamHeader& header) {
    u8 bytes[kStreamHeaderSize];
    encode_stream_header(header, bytes);
    std::vector<u8> stream(bytes, bytes + kStreamHeaderSize);
    stream.resize(kStreamHeaderSize + header.payload_size, 0xEE);
    return stream;
}

// The wire layout is fixed little-endian at documented offsets (docs/stream-format.md),
// independent of the host struct.
TEST(StreamHeader, EncodesDocumentedLittleEndianLayout) {
    u8 bytes[kStreamHeaderSize];
    encode_stream_header(sample_header(), bytes);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(bytes), 8), "RELAYSTM");
    EXPECT_EQ(bytes[8], 128);
    EXPECT_EQ(bytes[9], 0);
    EXPECT_EQ(bytes[12], 1);  // format version
    EXPECT_EQ(bytes[14], 3);  // kind: restore
    EXPECT_EQ(bytes[16], 1);  // schema major
    EXPECT_EQ(bytes[18], 7);  // schema minor
    EXPECT_EQ(bytes[24], 0x08);
    EXPECT_EQ(bytes[31], 0x01);
    EXPECT_EQ(bytes[32], 0x18);
    EXPECT_EQ(bytes[39], 0x11);
    EXPECT_EQ(bytes[40], 0xC0);
    EXPECT_EQ(bytes[71], 0xC0 + 31);
    EXPECT_EQ(bytes[72], 0x20);
    EXPECT_EQ(bytes[79], 0x00);
    EXPECT_EQ(bytes[80], 0);
    EXPECT_EQ(bytes[111], 31);
    for (usize i = 112; i < 128; ++i) {
        EXPECT_EQ(bytes[i], 0) << i;
    }
}

TEST(StreamHeader, RoundTrips) {
    StreamHeader header = sample_header();
    std::vector<u8> stream = encoded_with_payload(header);
    auto decoded = decode_stream_header(stream.data(), stream.size());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(decoded->kind, StreamKind::kRestore);
    EXPECT_EQ(decoded->schema_minor, 7);
    EXPECT_EQ(decoded->required_features, header.required_features);
    EXPECT_EQ(decoded->optional_features, header.optional_features);
    EXPECT_EQ(decoded->producer_build, header.producer_build);
    EXPECT_EQ(decoded->payload_size, 0x20u);
    EXPECT_EQ(decoded->digest, header.digest);
}

struct Refusal {
    const char* what;
    usize offset;  // byte to change (or, for truncation, bytes to keep)
    u8 value;
    bool truncate;
    ErrorCode code;
    const char* message_part;
};

class StreamHeaderRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(StreamHeaderRefuses, WithItsOwnError) {
    const Refusal& refusal = GetParam();
    std::vector<u8> stream = encoded_with_payload(sample_header());
    if (refusal.truncate) {
        stream.resize(refusal.offset);
    } else {
        stream[refusal.offset] = refusal.value;
    }
    auto decoded = decode_stream_header(stream.data(), stream.size());
    ASSERT_FALSE(decoded.ok()) << refusal.what;
    EXPECT_EQ(decoded.error().code(), refusal.code) << decoded.error().message();
    EXPECT_NE(std::string(decoded.error().message()).find(refusal.message_part), std::string::npos)
        << decoded.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StreamHeaderRefuses,
    ::testing::Values(
        Refusal{"empty", 0, 0, true, ErrorCode::kTruncated, "too short for the 8-byte magic"},
        Refusal{"magic only", 8, 0, true, ErrorCode::kTruncated, "the header alone is 128"},
        Refusal{"header cut", 127, 0, true, ErrorCode::kTruncated, "127 bytes"},
        Refusal{"payload cut", 128 + 31, 0, true, ErrorCode::kTruncated,
                "declares a 32-byte payload, 31 bytes follow"},
        Refusal{"magic", 0, 'X', false, ErrorCode::kBadMagic, "\"XELAYSTM\""},
        Refusal{"format", 12, 2, false, ErrorCode::kVersionMismatch, "format version 2"},
        Refusal{"header size", 8, 64, false, ErrorCode::kCorrupt, "header size is 64"},
        Refusal{"reserved 0", 21, 1, false, ErrorCode::kCorrupt, "offset 21"},
        Refusal{"reserved 1", 127, 9, false, ErrorCode::kCorrupt, "offset 127 is 0x9"},
        Refusal{"kind", 14, 9, false, ErrorCode::kCorrupt, "unknown stream kind 9"}));

TEST(StreamHeader, AllowsBytesAfterThePayload) {
    std::vector<u8> stream = encoded_with_payload(sample_header());
    stream.resize(stream.size() + 4096, 0);  // a page-rounded module
    EXPECT_TRUE(decode_stream_header(stream.data(), stream.size()).ok());
}

TEST(StreamHeader, DigestCoversHeaderButNotItsOwnField) {
    std::vector<u8> stream = encoded_with_payload(sample_header());
    u8 header[kStreamHeaderSize];
    std::copy(stream.begin(), stream.begin() + kStreamHeaderSize, header);
    Sha256Digest base = compute_stream_digest(header, stream.data() + 128, 32);
    header[header_offset::kDigest] ^= 0xFF;
    EXPECT_EQ(compute_stream_digest(header, stream.data() + 128, 32), base);
    header[header_offset::kSchemaMinor] ^= 1;
    EXPECT_NE(compute_stream_digest(header, stream.data() + 128, 32), base);
}

TEST(StreamKind, NamesRoundTrip) {
    for (StreamKind kind :
         {StreamKind::kBoot, StreamKind::kLiveUpdate, StreamKind::kRestore, StreamKind::kExport}) {
        StreamKind parsed;
        ASSERT_TRUE(parse_stream_kind(stream_kind_name(kind), &parsed));
        EXPECT_EQ(parsed, kind);
    }
    StreamKind parsed;
    EXPECT_FALSE(parse_stream_kind("live", &parsed));
    EXPECT_FALSE(parse_stream_kind("live-updates", &parsed));
}

}  // namespace
}  // namespace relay::stream
