#include "migration_stream/stream_header.hpp"

#include "lib/little_endian.hpp"

namespace relay::stream {
namespace {

// Printable rendering of up to 8 magic bytes for error messages.
FixedString<40> describe_magic(const u8* bytes) {
    char text[9];
    for (usize i = 0; i < 8; ++i) {
        text[i] = (bytes[i] >= 0x20 && bytes[i] < 0x7F && bytes[i] != '"')
                      ? static_cast<char>(bytes[i])
                      : '.';
    }
    text[8] = '\0';
    u64 raw = 0;
    for (usize i = 0; i < 8; ++i) {
        raw = (raw << 8) | bytes[i];
    }
    return FixedString<40>::formatted("\"{}\" ({:#016x})", static_cast<const char*>(text), raw);
}

}  // namespace

const char* stream_kind_name(StreamKind kind) {
    switch (kind) {
        case StreamKind::kBoot:
            return "boot";
        case StreamKind::kLiveUpdate:
            return "live-update";
        case StreamKind::kRestore:
            return "restore";
        case StreamKind::kExport:
            return "export";
    }
    return "unknown";
}

bool is_known_stream_kind(u16 raw) {
    return raw >= static_cast<u16>(StreamKind::kBoot) &&
           raw <= static_cast<u16>(StreamKind::kExport);
}

bool parse_stream_kind(const char* name, StreamKind* out) {
    for (u16 raw = 1; is_known_stream_kind(raw); ++raw) {
        const char* candidate = stream_kind_name(static_cast<StreamKind>(raw));
        usize i = 0;
        while (candidate[i] != '\0' && candidate[i] == name[i]) {
            ++i;
        }
        if (candidate[i] == '\0' && name[i] == '\0') {
            *out = static_cast<StreamKind>(raw);
            return true;
        }
    }
    return false;
}

void encode_stream_header(const StreamHeader& header, u8 (&out)[kStreamHeaderSize]) {
    for (u8& byte : out) {
        byte = 0;
    }
    for (usize i = 0; i < sizeof(kStreamMagic); ++i) {
        out[header_offset::kMagic + i] = kStreamMagic[i];
    }
    store_le32(out + header_offset::kHeaderSize, header.header_size);
    store_le16(out + header_offset::kFormatVersion, header.format_version);
    store_le16(out + header_offset::kKind, static_cast<u16>(header.kind));
    store_le16(out + header_offset::kSchemaMajor, header.schema_major);
    store_le16(out + header_offset::kSchemaMinor, header.schema_minor);
    store_le64(out + header_offset::kRequiredFeatures, header.required_features);
    store_le64(out + header_offset::kOptionalFeatures, header.optional_features);
    for (usize i = 0; i < kBuildIdBytes; ++i) {
        out[header_offset::kProducerBuild + i] = header.producer_build.bytes[i];
    }
    store_le64(out + header_offset::kPayloadSize, header.payload_size);
    for (usize i = 0; i < kSha256Bytes; ++i) {
        out[header_offset::kDigest + i] = header.digest.bytes[i];
    }
}

Result<StreamHeader> decode_stream_header(const void* bytes, usize size) {
    const u8* in = static_cast<const u8*>(bytes);
    if (size < sizeof(kStreamMagic)) {
        return Error(ErrorCode::kTruncated,
                     "stream is truncated: {} bytes, too short for the {}-byte magic", size,
                     sizeof(kStreamMagic));
    }
    for (usize i = 0; i < sizeof(kStreamMagic); ++i) {
        if (in[i] != kStreamMagic[i]) {
            return Error(ErrorCode::kBadMagic,
                         "not a Relay stream: magic is {}, expected \"RELAYSTM\"",
                         describe_magic(in).c_str());
        }
    }
    if (size < kStreamHeaderSize) {
        return Error(ErrorCode::kTruncated,
                     "stream is truncated: {} bytes, the header alone is {} bytes", size,
                     kStreamHeaderSize);
    }
    StreamHeader header;
    header.format_version = load_le16(in + header_offset::kFormatVersion);
    if (header.format_version != kStreamFormatVersion) {
        return Error(ErrorCode::kVersionMismatch,
                     "stream format version {} is not readable by this build (it reads format {})",
                     header.format_version, kStreamFormatVersion);
    }
    header.header_size = load_le32(in + header_offset::kHeaderSize);
    if (header.header_size != kStreamHeaderSize) {
        return Error(ErrorCode::kCorrupt, "header size is {} bytes; format {} headers are {} bytes",
                     header.header_size, kStreamFormatVersion, kStreamHeaderSize);
    }
    for (usize offset = header_offset::kReserved0; offset < header_offset::kReserved0 + 4;
         ++offset) {
        if (in[offset] != 0) {
            return Error(ErrorCode::kCorrupt,
                         "reserved header byte at offset {} is {:#x}, must be zero", offset,
                         in[offset]);
        }
    }
    for (usize offset = header_offset::kReserved1; offset < kStreamHeaderSize; ++offset) {
        if (in[offset] != 0) {
            return Error(ErrorCode::kCorrupt,
                         "reserved header byte at offset {} is {:#x}, must be zero", offset,
                         in[offset]);
        }
    }
    u16 kind = load_le16(in + header_offset::kKind);
    if (!is_known_stream_kind(kind)) {
        return Error(ErrorCode::kCorrupt,
                     "unknown stream kind {} (known: 1 boot, 2 live-update, "
                     "3 restore, 4 export)",
                     kind);
    }
    header.kind = static_cast<StreamKind>(kind);
    header.schema_major = load_le16(in + header_offset::kSchemaMajor);
    header.schema_minor = load_le16(in + header_offset::kSchemaMinor);
    header.required_features = load_le64(in + header_offset::kRequiredFeatures);
    header.optional_features = load_le64(in + header_offset::kOptionalFeatures);
    for (usize i = 0; i < kBuildIdBytes; ++i) {
        header.producer_build.bytes[i] = in[header_offset::kProducerBuild + i];
    }
    header.payload_size = load_le64(in + header_offset::kPayloadSize);
    for (usize i = 0; i < kSha256Bytes; ++i) {
        header.digest.bytes[i] = in[header_offset::kDigest + i];
    }
    u64 available = size - kStreamHeaderSize;
    if (header.payload_size > available) {
        return Error(ErrorCode::kTruncated,
                     "stream is truncated: header declares a {}-byte payload, {} bytes follow the "
                     "header",
                     header.payload_size, available);
    }
    return header;
}

Sha256Digest compute_stream_digest(const u8 (&header)[kStreamHeaderSize], const void* payload,
                                   usize payload_size) {
    static constexpr u8 kZeros[kSha256Bytes] = {};
    Sha256 hasher;
    hasher.update(header, header_offset::kDigest);
    hasher.update(kZeros, kSha256Bytes);
    hasher.update(header + header_offset::kDigest + kSha256Bytes,
                  kStreamHeaderSize - header_offset::kDigest - kSha256Bytes);
    hasher.update(payload, payload_size);
    return hasher.finish();
}

}  // namespace relay::stream
