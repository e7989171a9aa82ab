// FrameAllocator: physical memory in 4 KiB frames, handed out in naturally aligned
// power-of-two blocks (order 0 = 4 KiB, order 9 = 2 MiB).
//
// One bit per frame (1 = free) in caller-provided storage: no heap, bounded memory
// (32 KiB of bitmap per GiB). Reserved ranges (the image, boot modules, the handover
// region, preserved ranges of a live update) are recorded and can never become free:
// free() of a frame inside one is refused, so no sequence of calls hands one out.
// Host-compilable; tests/unit drives it with a property test.
#pragma once

#include "lib/address.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay {

class FrameAllocator {
public:
    static constexpr u64 kFrameSize = kPageSize4K;
    static constexpr u32 kMaxOrder = 18;  // 1 GiB blocks
    static constexpr usize kMaxReservedRanges = 256;

    // Bytes of bitmap storage needed to cover physical memory [0, limit).
    static constexpr u64 bitmap_bytes_for(u64 limit) {
        u64 frames = (limit + kFrameSize - 1) / kFrameSize;
        return ((frames + 63) / 64) * 8;
    }

    // Starts with every frame reserved. `bitmap` holds `words` u64s and must cover
    // [0, limit). The storage's own frames must be passed to reserve() by the caller.
    Status init(u64* bitmap, usize words, HostPhysAddr limit);

    // Records a range that must never be handed out. Frames touched by the range (rounded
    // outward) become unavailable. Boot-time only, like add_usable: refused once allocation
    // has started, so a reservation can never take a frame someone already owns.
    Status reserve(HostPhysRange range, const char* owner);

    // Makes the frames fully inside `range` (rounded inward) available, except where a
    // reserved range covers them. Used once per usable memory-map entry at boot.
    // Refused once allocation has started (it could otherwise free owned frames).
    Status add_usable(HostPhysRange range);

    // Allocation constraint: the whole block lies in [minimum, limit).
    struct Window {
        HostPhysAddr minimum{1 * MiB};  // low memory is left for explicit requests
        HostPhysAddr limit{~0ull};
    };

    // A free block of 2^order frames, aligned to its size, inside `window`.
    Result<HostPhysAddr> allocate(u32 order, Window window);
    Result<HostPhysAddr> allocate(u32 order) { return allocate(order, Window{}); }

    // Returns a block. Refused (and nothing changes) when the block is not wholly
    // allocated, lies outside the managed memory, or touches a reserved range.
    Status free(HostPhysAddr address, u32 order);

    // Takes one specific block out of the free pool (e.g. a range a live-update stream
    // says is in use). Refused unless every frame of it is free.
    Status claim(HostPhysRange range);
    // Returns a claimed range (any frame-aligned size). Refused (and nothing changes)
    // unless every frame of it is in use and none is reserved.
    Status release(HostPhysRange range);

    bool is_free(HostPhysAddr frame) const;
    bool is_reserved(HostPhysAddr frame) const;
    u64 free_frames() const { return free_frames_; }
    u64 managed_frames() const { return frame_count_; }
    HostPhysAddr limit() const { return HostPhysAddr(frame_count_ * kFrameSize); }

    struct ReservedRange {
        HostPhysRange range;
        const char* owner;
    };
    usize reserved_count() const { return reserved_count_; }
    const ReservedRange& reserved(usize index) const { return reserved_[index]; }

private:
    bool bit(u64 frame) const { return (bitmap_[frame / 64] >> (frame % 64)) & 1; }
    void set_free(u64 frame) { bitmap_[frame / 64] |= 1ull << (frame % 64); }
    void set_used(u64 frame) { bitmap_[frame / 64] &= ~(1ull << (frame % 64)); }
    static constexpr u64 kNoFrame = ~0ull;
    bool block_is(u64 first, u64 count, bool free) const;
    bool block_free(u64 first, u64 count) const { return block_is(first, count, true); }
    bool block_used(u64 first, u64 count) const { return block_is(first, count, false); }
    // First free, naturally aligned block of `count` frames inside [begin, end).
    u64 find_block(u64 begin, u64 end, u64 count) const;
    bool touches_reserved(HostPhysRange range) const;
    void mark_reserved_used(HostPhysRange range);
    // Sets frames [first, end) free or used a word at a time; returns how many changed.
    u64 fill(u64 first, u64 end, bool free);

    u64* bitmap_ = nullptr;
    u64 frame_count_ = 0;
    u64 free_frames_ = 0;
    u64 search_hint_ = 0;  // first frame worth scanning for order-0 allocations
    usize reserved_count_ = 0;
    bool allocations_started_ = false;
    ReservedRange reserved_[kMaxReservedRanges];
};

}  // namespace relay
