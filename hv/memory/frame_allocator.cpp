#include "hv/memory/frame_allocator.hpp"

namespace relay {

Status FrameAllocator::init(u64* bitmap, usize words, HostPhysAddr limit) {
    u64 frames = limit.raw() / kFrameSize;
    if (words * 64 < frames) {
        return make_error(ErrorCode::kInvalidArgument,
                          "frame bitmap of {} words cannot cover {} frames", words, frames);
    }
    bitmap_ = bitmap;
    frame_count_ = frames;
    free_frames_ = 0;
    search_hint_ = 0;
    reserved_count_ = 0;
    allocations_started_ = false;
    for (usize i = 0; i < words; ++i) {
        bitmap_[i] = 0;
    }
    return ok_status();
}

Status FrameAllocator::reserve(HostPhysRange range, const char* owner) {
    if (allocations_started_) {
        return make_error(ErrorCode::kBusy, "reservation for {} after allocation started", owner);
    }
    if (range.empty()) {
        return ok_status();
    }
    if (reserved_count_ == kMaxReservedRanges) {
        return make_error(ErrorCode::kOutOfRange, "more than {} reserved ranges (adding {})",
                          kMaxReservedRanges, owner);
    }
    // Frames the range touches, clamped to managed memory (reservations above it are
    // recorded all the same so free() refuses them).
    reserved_[reserved_count_++] = ReservedRange{range, owner};
    mark_reserved_used(range);
    return ok_status();
}

Status FrameAllocator::add_usable(HostPhysRange range) {
    if (allocations_started_) {
        return make_error(ErrorCode::kBusy,
                          "usable memory {} + {:#x} added after allocation started", range.base(),
                          range.size());
    }
    if (range.empty() || range.base().raw() > ~0ull - (kFrameSize - 1)) {
        return ok_status();
    }
    // Frames wholly inside the range: round the start up and the end down.
    u64 first = (range.base().raw() + kFrameSize - 1) / kFrameSize;
    u64 end = range.last().raw() / kFrameSize;
    if ((range.last().raw() & (kFrameSize - 1)) == kFrameSize - 1) {
        ++end;
    }
    if (end > frame_count_) {
        end = frame_count_;
    }
    if (first >= end) {
        return ok_status();
    }
    free_frames_ += fill(first, end, true);
    // Reservations win over usable memory: take back the frames of those that touch it.
    auto frames =
        HostPhysRange::unchecked(HostPhysAddr(first * kFrameSize), (end - first) * kFrameSize);
    for (usize i = 0; i < reserved_count_; ++i) {
        if (reserved_[i].range.overlaps(frames)) {
            mark_reserved_used(reserved_[i].range);
        }
    }
    return ok_status();
}

namespace {

u64 population(u64 word) {
    // Bit counting without a libgcc call (the hypervisor links no runtime library).
    word = word - ((word >> 1) & 0x5555555555555555ull);
    word = (word & 0x3333333333333333ull) + ((word >> 2) & 0x3333333333333333ull);
    word = (word + (word >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (word * 0x0101010101010101ull) >> 56;
}

}  // namespace

u64 FrameAllocator::fill(u64 first, u64 end, bool free) {
    u64 changed = 0;
    u64 frame = first;
    while (frame < end) {
        u64 offset = frame % 64;
        u64 count = 64 - offset < end - frame ? 64 - offset : end - frame;
        u64 mask = (count == 64 ? ~0ull : ((1ull << count) - 1)) << offset;
        u64& word = bitmap_[frame / 64];
        u64 updated = free ? (word | mask) : (word & ~mask);
        changed += population(word ^ updated);
        word = updated;
        frame += count;
    }
    return changed;
}

void FrameAllocator::mark_reserved_used(HostPhysRange range) {
    u64 first = range.base().raw() / kFrameSize;
    u64 end = range.last().raw() / kFrameSize + 1;
    if (end > frame_count_) {
        end = frame_count_;
    }
    if (first < end) {
        free_frames_ -= fill(first, end, false);
    }
}

bool FrameAllocator::touches_reserved(HostPhysRange range) const {
    // Compare at frame granularity: a reservation owns every frame it touches.
    HostPhysAddr first = range.base().align_down(kFrameSize);
    HostPhysAddr last = range.last().align_down(kFrameSize);
    auto frames = HostPhysRange::unchecked(first, last - first + kFrameSize);
    for (usize i = 0; i < reserved_count_; ++i) {
        if (reserved_[i].range.overlaps(frames)) {
            return true;
        }
    }
    return false;
}

bool FrameAllocator::block_is(u64 first, u64 count, bool free) const {
    // A word at a time: the bits of each word the block covers must all be `free`.
    u64 frame = first;
    u64 end = first + count;
    while (frame < end) {
        u64 offset = frame % 64;
        u64 bits = 64 - offset < end - frame ? 64 - offset : end - frame;
        u64 mask = (bits == 64 ? ~0ull : ((1ull << bits) - 1)) << offset;
        u64 word = bitmap_[frame / 64] & mask;
        if (word != (free ? mask : 0)) {
            return false;
        }
        frame += bits;
    }
    return true;
}

u64 FrameAllocator::find_block(u64 begin, u64 end, u64 count) const {
    u64 candidate = (begin + count - 1) & ~(count - 1);
    while (candidate < end && count <= end - candidate) {
        // Skip exhausted words quickly.
        if (candidate % 64 == 0 && bitmap_[candidate / 64] == 0) {
            candidate += count > 64 ? count : 64;
            continue;
        }
        if (block_free(candidate, count)) {
            return candidate;
        }
        candidate += count;
    }
    return kNoFrame;
}

Result<HostPhysAddr> FrameAllocator::allocate(u32 order, Window window) {
    if (order > kMaxOrder) {
        return make_error(ErrorCode::kInvalidArgument, "allocation order {} exceeds {}", order,
                          kMaxOrder);
    }
    u64 count = 1ull << order;
    u64 window_first = (window.minimum.raw() + kFrameSize - 1) / kFrameSize;
    u64 window_end = window.limit.raw() / kFrameSize;
    if (window_end > frame_count_) {
        window_end = frame_count_;
    }
    u64 found = kNoFrame;
    if (order == 0 && search_hint_ > window_first && search_hint_ < window_end) {
        // Single frames: start where the last one was found, wrap around once.
        found = find_block(search_hint_, window_end, 1);
        if (found == kNoFrame) {
            found = find_block(window_first, search_hint_, 1);
        }
    } else {
        found = find_block(window_first, window_end, count);
    }
    if (found == kNoFrame) {
        return make_error(ErrorCode::kOutOfMemory,
                          "no free block of {} KiB in {}..{} ({} frames free)", count * 4,
                          HostPhysAddr(window_first * kFrameSize),
                          HostPhysAddr(window_end * kFrameSize), free_frames_);
    }
    for (u64 frame = found; frame < found + count; ++frame) {
        set_used(frame);
    }
    free_frames_ -= count;
    allocations_started_ = true;
    if (order == 0) {
        search_hint_ = found + 1;
    }
    return HostPhysAddr(found * kFrameSize);
}

Status FrameAllocator::free(HostPhysAddr address, u32 order) {
    if (order > kMaxOrder) {
        return make_error(ErrorCode::kInvalidArgument, "free of order {} exceeds {}", order,
                          kMaxOrder);
    }
    u64 count = 1ull << order;
    if (!address.is_aligned(count * kFrameSize)) {
        return make_error(ErrorCode::kInvalidArgument, "free of {} is not aligned to order {}",
                          address, order);
    }
    u64 first = address.raw() / kFrameSize;
    if (first >= frame_count_ || count > frame_count_ - first) {
        return make_error(ErrorCode::kOutOfRange, "free of {} (order {}) beyond managed memory",
                          address, order);
    }
    if (touches_reserved(HostPhysRange::unchecked(address, count * kFrameSize))) {
        return make_error(ErrorCode::kPermissionDenied,
                          "free of {} (order {}) touches a reserved range", address, order);
    }
    for (u64 frame = first; frame < first + count; ++frame) {
        if (bit(frame)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "double free: frame {} of block {} is already free",
                              HostPhysAddr(frame * kFrameSize), address);
        }
    }
    for (u64 frame = first; frame < first + count; ++frame) {
        set_free(frame);
    }
    free_frames_ += count;
    if (order == 0 && first < search_hint_) {
        search_hint_ = first;
    }
    return ok_status();
}

Status FrameAllocator::claim(HostPhysRange range) {
    if (range.empty()) {
        return ok_status();
    }
    if (!range.base().is_aligned(kFrameSize) || !is_aligned(range.size(), kFrameSize)) {
        return make_error(ErrorCode::kInvalidArgument, "claim of {} + {:#x} is not frame aligned",
                          range.base(), range.size());
    }
    u64 first = range.base().raw() / kFrameSize;
    u64 count = range.size() / kFrameSize;
    if (first >= frame_count_ || count > frame_count_ - first) {
        return make_error(ErrorCode::kOutOfRange, "claim of {} + {:#x} beyond managed memory",
                          range.base(), range.size());
    }
    if (!block_free(first, count)) {
        u64 frame = first;
        while (bit(frame)) {
            ++frame;
        }
        return make_error(ErrorCode::kBusy, "claim of {} + {:#x}: frame {} is not free",
                          range.base(), range.size(), HostPhysAddr(frame * kFrameSize));
    }
    free_frames_ -= fill(first, first + count, false);
    return ok_status();
}

Status FrameAllocator::release(HostPhysRange range) {
    if (range.empty()) {
        return ok_status();
    }
    if (!range.base().is_aligned(kFrameSize) || !is_aligned(range.size(), kFrameSize)) {
        return make_error(ErrorCode::kInvalidArgument, "release of {} + {:#x} is not frame aligned",
                          range.base(), range.size());
    }
    u64 first = range.base().raw() / kFrameSize;
    u64 count = range.size() / kFrameSize;
    if (first >= frame_count_ || count > frame_count_ - first) {
        return make_error(ErrorCode::kOutOfRange, "release of {} + {:#x} beyond managed memory",
                          range.base(), range.size());
    }
    if (touches_reserved(range)) {
        return make_error(ErrorCode::kPermissionDenied,
                          "release of {} + {:#x} touches a reserved range", range.base(),
                          range.size());
    }
    if (!block_used(first, count)) {
        u64 frame = first;
        while (!bit(frame)) {
            ++frame;
        }
        return make_error(ErrorCode::kInvalidArgument,
                          "release of {} + {:#x}: frame {} is already free", range.base(),
                          range.size(), HostPhysAddr(frame * kFrameSize));
    }
    free_frames_ += fill(first, first + count, true);
    if (first < search_hint_) {
        search_hint_ = first;
    }
    return ok_status();
}

bool FrameAllocator::is_free(HostPhysAddr frame) const {
    u64 index = frame.raw() / kFrameSize;
    return index < frame_count_ && bit(index);
}

bool FrameAllocator::is_reserved(HostPhysAddr frame) const {
    return touches_reserved(HostPhysRange::unchecked(frame.align_down(kFrameSize), kFrameSize));
}

}  // namespace relay
