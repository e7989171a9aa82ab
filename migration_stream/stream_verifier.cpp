#include "migration_stream/stream_verifier.hpp"

#include <flatbuffers/flatbuffers.h>

#if defined(RELAY_HOSTED)
#include <vector>
#endif

namespace relay::stream {
namespace {

struct StructureChecked {
    StreamHeader header;
    const u8* payload;
};

// Steps 1-5 of verify_stream (see the header).
Result<StructureChecked> check_structure(const void* bytes, usize size,
                                         const VerifyOptions& options) {
    if (bytes == nullptr) {
        return Error(ErrorCode::kInvalidArgument, "no stream given");
    }
    if ((reinterpret_cast<uptr>(bytes) & 7) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "stream at {} is not 8-byte aligned (FlatBuffers reads scalars in place)",
                     bytes);
    }
    RELAY_TRY_ASSIGN(header, decode_stream_header(bytes, size));
    RELAY_TRY(check_compatibility(options.reader, header));
    if (header.payload_size > options.limits.max_payload_bytes) {
        return Error(ErrorCode::kOutOfRange, "payload is {} bytes, the limit is {}",
                     header.payload_size, options.limits.max_payload_bytes);
    }
    const u8* stream = static_cast<const u8*>(bytes);
    const u8* payload = stream + kStreamHeaderSize;
    usize payload_size = static_cast<usize>(header.payload_size);

    const u8(&encoded)[kStreamHeaderSize] =
        *reinterpret_cast<const u8(*)[kStreamHeaderSize]>(stream);
    Sha256Digest digest = compute_stream_digest(encoded, payload, payload_size);
    if (!(digest == header.digest)) {
        return Error(ErrorCode::kDigestMismatch,
                     "digest mismatch: header says {:02x}{:02x}{:02x}{:02x}..., header and payload "
                     "hash to {:02x}{:02x}{:02x}{:02x}...",
                     header.digest.bytes[0], header.digest.bytes[1], header.digest.bytes[2],
                     header.digest.bytes[3], digest.bytes[0], digest.bytes[1], digest.bytes[2],
                     digest.bytes[3]);
    }

    if (payload_size < 8 || !flatbuffers::BufferHasIdentifier(payload, kPayloadIdentifier)) {
        return Error(ErrorCode::kCorrupt,
                     "payload is not a HostState: FlatBuffers file identifier is not \"{}\"",
                     kPayloadIdentifier);
    }
    flatbuffers::Verifier::Options verifier_options;
    verifier_options.max_depth = options.limits.max_depth;
    verifier_options.max_tables = options.limits.max_tables;
    verifier_options.check_alignment = true;
    flatbuffers::Verifier verifier(payload, payload_size, verifier_options);
    if (!verifier.VerifyBuffer<schema::HostState>(kPayloadIdentifier)) {
        // Tell a limit apart from malformed data: the same check without the limits.
        flatbuffers::Verifier::Options unlimited = verifier_options;
        unlimited.max_depth = 1u << 30;
        unlimited.max_tables = 1u << 30;
        flatbuffers::Verifier relaxed(payload, payload_size, unlimited);
        if (relaxed.VerifyBuffer<schema::HostState>(kPayloadIdentifier)) {
            return Error(ErrorCode::kOutOfRange,
                         "payload exceeds the FlatBuffers verifier limits (depth {}, {} tables)",
                         options.limits.max_depth, options.limits.max_tables);
        }
        return Error(ErrorCode::kCorrupt,
                     "payload failed FlatBuffers verification: an offset, length or alignment "
                     "points outside the {}-byte payload",
                     payload_size);
    }
    return StructureChecked{header, payload};
}

}  // namespace

Result<VerifiedStream> StreamVerifier::verify(const void* bytes, usize size) const {
    RELAY_TRY_ASSIGN(checked, check_structure(bytes, size, options_));
    const schema::HostState* state = flatbuffers::GetRoot<schema::HostState>(checked.payload);
    RELAY_TRY(check_host_state(*state, checked.header, options_));
    return VerifiedStream(checked.header, checked.payload, state);
}

#if defined(RELAY_HOSTED)
Result<VerifiedStream> StreamVerifier::verify_allocating(const void* bytes, usize size) const {
    RELAY_TRY_ASSIGN(checked, check_structure(bytes, size, options_));
    const schema::HostState* state = flatbuffers::GetRoot<schema::HostState>(checked.payload);
    usize extents = 0;
    if (state->domains() != nullptr) {
        for (const schema::Domain* domain : *state->domains()) {
            extents += domain->memory() != nullptr ? domain->memory()->size() : 0;
        }
    }
    usize preserved = state->preserved_ranges() != nullptr ? state->preserved_ranges()->size() : 0;
    std::vector<u64> work(verify_work_bytes(extents, preserved) / sizeof(u64) + 1);
    VerifyOptions options = options_;
    options.work_memory = work.data();
    options.work_memory_size = work.size() * sizeof(u64);
    RELAY_TRY(check_host_state(*state, checked.header, options));
    return VerifiedStream(checked.header, checked.payload, state);
}
#endif

}  // namespace relay::stream
