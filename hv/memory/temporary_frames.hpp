// A run of frames for a temporary buffer (a stream being written, scratch for a check),
// returned to the allocator when it goes out of scope: the hypervisor has no heap, and
// its stacks are too small for arrays that grow with a domain.
#pragma once

#include "hv/memory/physical_memory.hpp"

namespace relay {

class TemporaryFrames {
public:
    TemporaryFrames() = default;
    TemporaryFrames(const TemporaryFrames&) = delete;
    TemporaryFrames& operator=(const TemporaryFrames&) = delete;
    ~TemporaryFrames() { release(); }

    // At least `bytes` (the smallest power-of-two number of frames), inside `window`.
    Status allocate(u64 bytes, FrameAllocator::Window window = {}) {
        release();
        u32 order = 0;
        while ((kPageSize4K << order) < bytes) {
            ++order;
        }
        RELAY_TRY_ASSIGN(frames, allocate_frames(order, window));
        base_ = frames;
        order_ = order;
        return ok_status();
    }

    void release() {
        if (base_.raw() != 0) {
            (void)free_frames(base_, order_);
            base_ = HostPhysAddr(0);
        }
    }

    HostPhysAddr base() const { return base_; }
    u64 size() const { return kPageSize4K << order_; }
    void* data() const { return phys_to_virt<void>(base_); }
    template <typename T>
    T* as() const {
        return static_cast<T*>(data());
    }
    template <typename T>
    usize capacity() const {
        return static_cast<usize>(size() / sizeof(T));
    }

private:
    HostPhysAddr base_;
    u32 order_ = 0;
};

}  // namespace relay
