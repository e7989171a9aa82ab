// StreamWriter: builds a HostState payload with the generated FlatBuffers API in
// caller-provided scratch memory and writes header + payload into caller-provided output
// memory. No hidden heap (the hypervisor has none).
//
//   StreamWriter writer(scratch, scratch_size);            // or {.schema_minor = 0}
//   RELAY_TRY(writer.reserve(stream_size_bound(shape)));   // refuses what cannot fit
//   auto& b = writer.builder();
//   ... schema::CreateDomain(b, ...) ...; if (writer.writes(Feature::kUpdatePhases)) ...
//   RELAY_TRY_ASSIGN(size, writer.finish(root, fields, output, output_capacity));
//
// The writer derives the feature bits from the content (features.hpp) and refuses a
// stream whose content needs a feature newer than the schema minor it was asked to
// write (docs/stream-format.md, "Writing the previous minor").
#pragma once

#include <flatbuffers/flatbuffers.h>

#include "lib/result.hpp"
#include "lib/types.hpp"
#include "migration_stream/features.hpp"
#include "migration_stream/scratch_allocator.hpp"
#include "migration_stream/stream_header.hpp"

namespace relay::stream {

struct StreamWriterOptions {
    // Schema minor (of kSchemaMajor) to write: kSchemaMinor, or an older one so that an
    // older build can read the stream (a downgrade). Optional data from newer minors is
    // left out by the producer (writes()); required data from newer minors is refused.
    u16 schema_minor = kSchemaMinor;
};

// What the producer states in the header. Feature bits are derived from the content;
// the extra bits are ORed on top (for tools and tests).
struct StreamFields {
    StreamKind kind = StreamKind::kLiveUpdate;
    BuildId producer_build;
    u64 extra_required_features = 0;
    u64 extra_optional_features = 0;
};

// Bytes FlatBuffers' Finish() may add after the last reserved object (alignment, root
// offset, file identifier).
inline constexpr usize kFinishReserveBytes = 64;

// The builder, with access to how much of its buffer is in use.
class StreamBuilder final : public flatbuffers::FlatBufferBuilder {
public:
    StreamBuilder(usize capacity, ScratchAllocator* allocator);
    // Payload bytes built so far plus the builder's bookkeeping (vtable offsets).
    usize bytes_in_use() const { return buf_.size() + buf_.scratch_size(); }
};

class StreamWriter {
public:
    StreamWriter(void* scratch, usize scratch_size, StreamWriterOptions options = {});
    StreamWriter(const StreamWriter&) = delete;
    StreamWriter& operator=(const StreamWriter&) = delete;

    flatbuffers::FlatBufferBuilder& builder() { return builder_; }

    u16 schema_minor() const { return options_.schema_minor; }
    // Whether the target minor has `feature`: a producer writes the data of a feature
    // only when this is true.
    bool writes(Feature feature) const;

    // Fails with kOutOfMemory unless `bytes` more fit in the scratch memory. Call it
    // before building anything whose size stream_size_bound() gave (the whole stream, or
    // one domain at a time).
    Status reserve(usize bytes) const;
    usize bytes_used() const { return builder_.bytes_in_use(); }
    usize bytes_free() const;

    // Finishes the payload with `root` (an Offset<schema::HostState>) and writes header +
    // payload to `output`. Returns the stream size. The writer is spent afterwards
    // (call reset() to build another stream in the same scratch memory).
    template <typename Root>
    Result<usize> finish(flatbuffers::Offset<Root> root, const StreamFields& fields, void* output,
                         usize output_capacity) {
        return finish_raw(root.o, fields, output, output_capacity);
    }
    Result<usize> finish_raw(flatbuffers::uoffset_t root, const StreamFields& fields, void* output,
                             usize output_capacity);

    void reset();

private:
    StreamWriterOptions options_;
    ScratchAllocator allocator_;
    StreamBuilder builder_;
    bool finished_ = false;
};

// Low level: wraps an already finished payload in a header. `header.payload_size` and
// `header.digest` are filled in; every other header field is written as given. Used by
// StreamWriter::finish, relay-dump make and tests that need unusual headers.
Result<usize> write_stream(const void* payload, usize payload_size, StreamHeader header,
                           void* output, usize output_capacity);

}  // namespace relay::stream
