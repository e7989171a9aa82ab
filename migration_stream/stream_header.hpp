// The fixed little-endian header that precedes every stream's FlatBuffers payload
// (docs/stream-format.md, "Header"). It is encoded and decoded byte by byte: the host
// struct below is never the wire format.
//
//   offset size field
//        0    8 magic "RELAYSTM"
//        8    4 header_size (128)
//       12    2 format_version (1)
//       14    2 stream kind
//       16    2 schema major
//       18    2 schema minor
//       20    4 reserved, zero
//       24    8 required-feature bitmap
//       32    8 optional-feature bitmap
//       40   32 producer build id
//       72    8 payload size in bytes
//       80   32 SHA-256 of the header (this field as zeros) followed by the payload
//      112   16 reserved, zero
#pragma once

#include "lib/result.hpp"
#include "lib/types.hpp"
#include "migration_stream/sha256.hpp"

namespace relay::stream {

inline constexpr u8 kStreamMagic[8] = {'R', 'E', 'L', 'A', 'Y', 'S', 'T', 'M'};
inline constexpr u32 kStreamHeaderSize = 128;
inline constexpr u16 kStreamFormatVersion = 1;

// The schema this build writes (schema/relay.fbs). Reads kSchemaMajor and the previous
// major (docs/stream-format.md, "Versioning"); major 1 is the first, so only 1 today.
inline constexpr u16 kSchemaMajor = 1;
inline constexpr u16 kSchemaMinor = 2;
inline constexpr u16 kOldestReadableSchemaMajor = 1;

// FlatBuffers file identifier of the payload (schema/relay.fbs `file_identifier`).
inline constexpr char kPayloadIdentifier[5] = "RLYS";

namespace header_offset {
inline constexpr usize kMagic = 0;
inline constexpr usize kHeaderSize = 8;
inline constexpr usize kFormatVersion = 12;
inline constexpr usize kKind = 14;
inline constexpr usize kSchemaMajor = 16;
inline constexpr usize kSchemaMinor = 18;
inline constexpr usize kReserved0 = 20;
inline constexpr usize kRequiredFeatures = 24;
inline constexpr usize kOptionalFeatures = 32;
inline constexpr usize kProducerBuild = 40;
inline constexpr usize kPayloadSize = 72;
inline constexpr usize kDigest = 80;
inline constexpr usize kReserved1 = 112;
}  // namespace header_offset

// Why the stream was written (also on the module's command line: relay.stream kind=...).
enum class StreamKind : u16 {
    kBoot = 1,        // a Hyperlaunch configuration translated to state (nothing ran yet)
    kLiveUpdate = 2,  // running state handed to the next build
    kRestore = 3,     // state handed back to a build for resumption (rollback, restore)
    kExport = 4,      // a snapshot for offline inspection
};

const char* stream_kind_name(StreamKind kind);  // "boot", "live-update", ...; "unknown"
bool parse_stream_kind(const char* name, StreamKind* out);
bool is_known_stream_kind(u16 raw);

inline constexpr usize kBuildIdBytes = 32;

struct BuildId {
    u8 bytes[kBuildIdBytes] = {};

    bool operator==(const BuildId&) const = default;
};

struct StreamHeader {
    u32 header_size = kStreamHeaderSize;
    u16 format_version = kStreamFormatVersion;
    StreamKind kind = StreamKind::kLiveUpdate;
    u16 schema_major = kSchemaMajor;
    u16 schema_minor = kSchemaMinor;
    u64 required_features = 0;
    u64 optional_features = 0;
    BuildId producer_build;
    u64 payload_size = 0;
    Sha256Digest digest;
};

// Writes the 128 header bytes.
void encode_stream_header(const StreamHeader& header, u8 (&out)[kStreamHeaderSize]);

// Decodes and structurally checks a header at the start of `size` bytes: enough bytes,
// magic, format version, header size, reserved bytes, stream kind, and that the declared
// payload fits in `size`. Version policy (schema major, feature bits) is
// check_compatibility()'s job; the digest is verify_stream()'s.
Result<StreamHeader> decode_stream_header(const void* bytes, usize size);

// SHA-256 over the header (digest field as zeros) followed by the payload.
Sha256Digest compute_stream_digest(const u8 (&header)[kStreamHeaderSize], const void* payload,
                                   usize payload_size);

}  // namespace relay::stream
