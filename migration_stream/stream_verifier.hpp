// StreamVerifier: the only way to a HostState. Checks, in order (each failure is its own
// error; docs/stream-format.md, "What the verifier refuses"):
//   1. header: length, magic, format version, header size, reserved bytes, kind, that the
//      declared payload is present;
//   2. compatibility: schema major readable, every required feature bit known;
//   3. limits: payload size;
//   4. digest: SHA-256 of header and payload;
//   5. FlatBuffers: file identifier, then flatbuffers::Verifier with depth/table limits;
//   6. semantics (host_state_checks.cpp): counts within limits, unique sorted domids,
//      vCPU counts and ids, known enum values and flag bits, extents aligned, sorted,
//      non-overlapping and inside declared memory, host ranges inside preserved ranges
//      of the right kind and owner, no overlaps between preserved ranges, nothing
//      preserved in the target's half of the handover region, IOMMU assignments naming
//      existing domains, required feature bits set for the content that needs them, and
//      no guest memory (RAM extent or guest-owned preserved range) in the reading
//      hypervisor's own memory (VerifyOptions::hypervisor_ranges).
// A VerifiedStream points into the caller's bytes: they must outlive it and not change.
#pragma once

#include "lib/result.hpp"
#include "lib/types.hpp"
#include "migration_stream/compatibility.hpp"
#include "migration_stream/stream_header.hpp"
#include "migration_stream/stream_limits.hpp"
#include "schema/relay_generated.h"

namespace relay::stream {

// Host memory that belongs to the reading hypervisor (its loaded image, the handover
// region, the stream being read): a stream that gives any of it to a domain would let a
// guest write the hypervisor. `what` names it in the refusal ("this build's image").
struct HypervisorRange {
    u64 base = 0;
    u64 size = 0;
    const char* what = "";
};

struct VerifyOptions {
    static constexpr usize kMaxHypervisorRanges = 4;
    StreamLimits limits = kDefaultStreamLimits;
    // The build doing the reading (this build unless a test says otherwise).
    CompatibilityNote reader = this_build_compatibility_note();
    // Memory for the host-range overlap checks, which sort (no heap in the hypervisor):
    // verify_work_bytes() of the stream's extents plus preserved ranges. Too little is a
    // kOutOfMemory error that says how much is needed.
    void* work_memory = nullptr;
    usize work_memory_size = 0;
    // No guest-RAM extent and no guest-owned preserved range may overlap these (empty for
    // host tools, which read streams of other machines).
    HypervisorRange hypervisor_ranges[kMaxHypervisorRanges] = {};
    usize hypervisor_range_count = 0;

    // Appends a range; false when full.
    bool add_hypervisor_range(u64 base, u64 size, const char* what) {
        if (hypervisor_range_count == kMaxHypervisorRanges) {
            return false;
        }
        hypervisor_ranges[hypervisor_range_count++] = HypervisorRange{base, size, what};
        return true;
    }
};

// Work memory the semantic checks need for a stream with this many memory extents (all
// domains) and preserved ranges.
usize verify_work_bytes(usize total_extents, usize preserved_ranges);

class VerifiedStream {
public:
    const StreamHeader& header() const { return header_; }
    const schema::HostState& host_state() const { return *host_state_; }
    const u8* payload() const { return payload_; }
    usize payload_size() const { return static_cast<usize>(header_.payload_size); }
    // Header plus payload; bytes after it (page padding of a module) are not part of it.
    usize stream_size() const { return kStreamHeaderSize + payload_size(); }

private:
    friend class StreamVerifier;
    VerifiedStream(const StreamHeader& header, const u8* payload,
                   const schema::HostState* host_state)
        : header_(header), payload_(payload), host_state_(host_state) {}

    StreamHeader header_;
    const u8* payload_;
    const schema::HostState* host_state_;
};

class StreamVerifier {
public:
    explicit StreamVerifier(const VerifyOptions& options) : options_(options) {}

    // `bytes` must be 8-byte aligned (FlatBuffers reads scalars in place).
    Result<VerifiedStream> verify(const void* bytes, usize size) const;

#if defined(RELAY_HOSTED)
    // Host tools and tests: allocates the work memory itself (options' is ignored).
    Result<VerifiedStream> verify_allocating(const void* bytes, usize size) const;
#endif

private:
    VerifyOptions options_;
};

inline Result<VerifiedStream> verify_stream(const void* bytes, usize size,
                                            const VerifyOptions& options) {
    return StreamVerifier(options).verify(bytes, size);
}

// The semantic checks alone, on an 8-byte aligned payload that passed the FlatBuffers
// Verifier.
Status check_host_state(const schema::HostState& state, const StreamHeader& header,
                        const VerifyOptions& options);

#if defined(RELAY_HOSTED)
// Host tools and tests: this build's reader with default limits, allocating work memory.
inline Result<VerifiedStream> verify_stream(const void* bytes, usize size) {
    return StreamVerifier(VerifyOptions{}).verify_allocating(bytes, size);
}
#endif

}  // namespace relay::stream
