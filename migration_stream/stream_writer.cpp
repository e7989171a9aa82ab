#include "migration_stream/stream_writer.hpp"

#include "migration_stream/feature_usage.hpp"

namespace relay::stream {
namespace {

// The largest scalar in the schema is 8 bytes; payload offsets stay 8-aligned relative to
// the payload start, which follows the 128-byte header.
constexpr usize kPayloadAlignment = 8;

void copy_bytes(u8* destination, const u8* source, usize size) {
    for (usize i = 0; i < size; ++i) {
        destination[i] = source[i];
    }
}

// Refuses content the target minor cannot carry: any feature bit introduced after it.
Status check_target_minor(u16 target_minor, const FeatureUse& use) {
    usize count = 0;
    const FeatureInfo* features = known_features(&count);
    for (usize i = 0; i < count; ++i) {
        const FeatureInfo& info = features[i];
        if (info.since_schema_minor <= target_minor) {
            continue;
        }
        u64 used = info.feature_class == FeatureClass::kRequired ? use.required : use.optional;
        if ((used & feature_mask(info.bit)) == 0) {
            continue;
        }
        if (info.feature_class == FeatureClass::kRequired) {
            return Error(ErrorCode::kUnsupported,
                         "cannot write schema {}.{}: the state needs required feature bit {} "
                         "(\"{}\") from schema {}.{}, which {}.{} readers cannot resume",
                         kSchemaMajor, target_minor, info.bit, info.name, kSchemaMajor,
                         info.since_schema_minor, kSchemaMajor, target_minor);
        }
        return Error(ErrorCode::kInvalidArgument,
                     "cannot write schema {}.{}: optional feature bit {} (\"{}\") is from schema "
                     "{}.{}; the producer must leave it out (StreamWriter::writes)",
                     kSchemaMajor, target_minor, info.bit, info.name, kSchemaMajor,
                     info.since_schema_minor);
    }
    return ok_status();
}

}  // namespace

StreamBuilder::StreamBuilder(usize capacity, ScratchAllocator* allocator)
    : flatbuffers::FlatBufferBuilder(capacity > 0 ? capacity : kPayloadAlignment, allocator, false,
                                     kPayloadAlignment) {}

StreamWriter::StreamWriter(void* scratch, usize scratch_size, StreamWriterOptions options)
    : options_(options),
      allocator_(scratch, scratch_size),
      builder_(allocator_.capacity(), &allocator_) {}

bool StreamWriter::writes(Feature feature) const {
    return feature_info(feature).since_schema_minor <= options_.schema_minor;
}

usize StreamWriter::bytes_free() const {
    usize used = bytes_used() + kFinishReserveBytes;
    return used >= allocator_.capacity() ? 0 : allocator_.capacity() - used;
}

Status StreamWriter::reserve(usize bytes) const {
    if (bytes > bytes_free()) {
        return Error(ErrorCode::kOutOfMemory,
                     "stream scratch memory exhausted: {} more bytes needed, {} of {} free", bytes,
                     bytes_free(), allocator_.capacity());
    }
    return ok_status();
}

void StreamWriter::reset() {
    builder_.Clear();
    finished_ = false;
}

Result<usize> StreamWriter::finish_raw(flatbuffers::uoffset_t root, const StreamFields& fields,
                                       void* output, usize output_capacity) {
    if (finished_) {
        return Error(ErrorCode::kInvalidArgument, "stream writer already finished a stream");
    }
    if (options_.schema_minor > kSchemaMinor) {
        return Error(ErrorCode::kInvalidArgument,
                     "cannot write schema {}.{}: this build writes up to {}.{}", kSchemaMajor,
                     options_.schema_minor, kSchemaMajor, kSchemaMinor);
    }
    if (bytes_used() + kFinishReserveBytes > allocator_.capacity()) {
        return Error(ErrorCode::kOutOfMemory,
                     "stream scratch memory exhausted: no room to finish the payload");
    }
    builder_.Finish(flatbuffers::Offset<schema::HostState>(root), kPayloadIdentifier);
    finished_ = true;
    const u8* payload = builder_.GetBufferPointer();
    usize payload_size = builder_.GetSize();

    FeatureUse use = scan_feature_use(*flatbuffers::GetRoot<schema::HostState>(payload));
    RELAY_TRY(check_target_minor(options_.schema_minor, use));

    StreamHeader header;
    header.kind = fields.kind;
    header.schema_major = kSchemaMajor;
    header.schema_minor = options_.schema_minor;
    header.required_features = use.required | fields.extra_required_features;
    header.optional_features = use.optional | fields.extra_optional_features;
    header.producer_build = fields.producer_build;
    return write_stream(payload, payload_size, header, output, output_capacity);
}

Result<usize> write_stream(const void* payload, usize payload_size, StreamHeader header,
                           void* output, usize output_capacity) {
    if (output_capacity < kStreamHeaderSize || payload_size > output_capacity - kStreamHeaderSize) {
        return Error(ErrorCode::kOutOfMemory,
                     "stream output buffer too small: {} bytes needed ({}-byte header + {}-byte "
                     "payload), {} given",
                     kStreamHeaderSize + payload_size, kStreamHeaderSize, payload_size,
                     output_capacity);
    }
    u8* out = static_cast<u8*>(output);
    const u8* in = static_cast<const u8*>(payload);
    // The payload may already sit where it belongs (right after the header); any other
    // overlap would be overwritten while it is copied.
    bool in_place = out + kStreamHeaderSize == in;
    bool overlaps = out < in + payload_size && in < out + kStreamHeaderSize + payload_size;
    if (overlaps && !in_place) {
        return Error(ErrorCode::kInvalidArgument,
                     "stream output buffer overlaps the payload it is built from");
    }
    header.payload_size = payload_size;
    header.digest = Sha256Digest{};
    u8 encoded[kStreamHeaderSize];
    encode_stream_header(header, encoded);
    header.digest = compute_stream_digest(encoded, payload, payload_size);
    encode_stream_header(header, encoded);
    if (!in_place) {
        copy_bytes(out + kStreamHeaderSize, in, payload_size);
    }
    copy_bytes(out, encoded, kStreamHeaderSize);
    return kStreamHeaderSize + payload_size;
}

}  // namespace relay::stream
