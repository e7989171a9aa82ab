#include "migration_stream/scratch_allocator.hpp"

#include "lib/assert.hpp"

namespace relay::stream {

ScratchAllocator::ScratchAllocator(void* memory, usize size) {
    uptr start = reinterpret_cast<uptr>(memory);
    uptr aligned = (start + 7) & ~uptr{7};
    usize skipped = static_cast<usize>(aligned - start);
    base_ = reinterpret_cast<u8*>(aligned);
    capacity_ = (memory == nullptr || size < skipped) ? 0 : (size - skipped) & ~usize{7};
}

u8* ScratchAllocator::allocate(usize size) {
    // The builder asks once (the region, see StreamWriter) and again only if a build was
    // larger than StreamWriter::reserve() allowed.
    RELAY_ASSERT(!handed_out_ && size <= capacity_ &&
                 "stream scratch exhausted: reserve space with StreamWriter::reserve() first");
    handed_out_ = true;
    return base_;
}

void ScratchAllocator::deallocate(u8* pointer, usize) {
    RELAY_ASSERT(pointer == base_);
    handed_out_ = false;
}

u8* ScratchAllocator::reallocate_downward(u8*, usize, usize, usize, usize) {
    RELAY_ASSERT(false &&
                 "stream scratch exhausted: reserve space with StreamWriter::reserve() first");
    return nullptr;
}

}  // namespace relay::stream
