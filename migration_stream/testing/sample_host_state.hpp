// Builds realistic, self-consistent HostState streams for tests, benchmarks and fuzz
// seeds, the way the hypervisor will: with the generated CreateX/XBuilder API into a
// StreamWriter. Hosted, test-only.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "migration_stream/stream_size_bound.hpp"
#include "migration_stream/stream_writer.hpp"
#include "schema/relay_generated.h"

namespace relay::stream::testing {

struct SampleOptions {
    u32 domains = 2;
    u32 vcpus_per_domain = 2;
    u32 extents_per_domain = 4;
    bool large_pages = false;    // 2 MiB extents (required feature "large-pages")
    bool xsave = true;           // XSAVE areas (required feature "xsave-state")
    bool iommu = true;           // one AMD-Vi unit with a device per domain ("iommu-state")
    bool cet = false;            // CET state on vCPU 0 of each domain ("cet-state", 1.1)
    bool console_output = true;  // unsent console bytes ("console-output")
    u32 update_records = 2;      // update history ("update-history")
    bool update_phases = true;   // phase timings ("update-phase-timings", 1.1), if written
    schema::DomainLifecycle lifecycle = schema::DomainLifecycle::Running;
    u64 guest_ram_host_base = 4 * GiB;  // domain 1's RAM; each next domain's follows it
};

BuildId sample_build_id(u8 seed);

// The shape stream_size_bound() needs for these options.
StreamShape sample_shape(const SampleOptions& options);

// Builds the state into the writer's builder (consulting writer.writes() for optional
// data of newer minors, as a producer must) and returns the root.
flatbuffers::Offset<schema::HostState> build_sample_host_state(StreamWriter& writer,
                                                               const SampleOptions& options);

// A complete stream (header + payload), or an empty vector with `error` set.
std::vector<u8> make_sample_stream(const SampleOptions& options,
                                   StreamWriterOptions writer_options = {},
                                   StreamKind kind = StreamKind::kLiveUpdate,
                                   Error* error = nullptr);

// 8-byte aligned owned bytes (FlatBuffers reads scalars in place).
struct AlignedBytes {
    std::vector<u64> storage;
    usize size = 0;

    AlignedBytes() = default;
    explicit AlignedBytes(const std::vector<u8>& bytes);
    const u8* data() const { return reinterpret_cast<const u8*>(storage.data()); }
    u8* data() { return reinterpret_cast<u8*>(storage.data()); }
};

// Applies `mutate` to a copy of the stream's payload (in place, through the mutable
// FlatBuffers API) and re-wraps it with the same header fields and a fresh digest, so
// tests reach the semantic checks with exactly one thing wrong. `mutate` returns false
// when it could not change the field (FlatBuffers does not store default values); the
// result is then empty.
std::vector<u8> mutate_payload(const std::vector<u8>& stream,
                               const std::function<bool(schema::HostState&)>& mutate);

// Re-writes the header with `edit` applied, recomputing the digest.
std::vector<u8> edit_header(const std::vector<u8>& stream,
                            const std::function<void(StreamHeader&)>& edit);

}  // namespace relay::stream::testing
