// A flatbuffers::Allocator over caller-provided memory, for the hypervisor, which has no
// heap. It hands the whole region to the builder in one allocation, so the builder never
// reallocates while the stream fits.
//
// FlatBuffers 2.0.8 cannot take a failed allocation (vector_downward uses the returned
// pointer unchecked), so exhaustion must be prevented up front: StreamWriter::reserve()
// refuses, with an error, a build that would not fit. A request beyond the region means
// a caller skipped that check; it is an invariant violation and panics (RELAY_ASSERT)
// rather than let the builder write past the region.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include "lib/types.hpp"

namespace relay::stream {

class ScratchAllocator final : public flatbuffers::Allocator {
public:
    // `memory` needs no particular alignment: the usable part starts at the first 8-byte
    // boundary (FlatBuffers aligns the buffer end to its largest scalar).
    ScratchAllocator(void* memory, usize size);

    u8* allocate(usize size) override;
    void deallocate(u8* pointer, usize size) override;
    u8* reallocate_downward(u8* old_pointer, usize old_size, usize new_size, usize in_use_back,
                            usize in_use_front) override;

    u8* base() const { return base_; }
    usize capacity() const { return capacity_; }

private:
    u8* base_;
    usize capacity_;
    bool handed_out_ = false;
};

}  // namespace relay::stream
