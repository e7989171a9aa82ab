#include "hv/memory/physical_memory.hpp"

#include "hv/lib/spinlock.hpp"
#include "hv/memory/layout.hpp"

namespace relay {

namespace {

FrameAllocator allocator;
Spinlock allocator_lock;

// Highest 2 MiB aligned place for `size` bytes inside usable memory below `limit` that
// avoids the boot data and the `avoid` ranges.
Result<HostPhysRange> find_free_place(const BootInfo& boot, u64 size, u64 alignment, u64 limit,
                                      const HostPhysRange* avoid, usize avoid_count) {
    bool found = false;
    HostPhysRange best;
    for (usize i = 0; i < boot.memory_region_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        if (region.type != MemoryType::kUsable || region.size < size) {
            continue;
        }
        u64 region_end = region.base.raw() + region.size;
        if (region_end > limit) {
            region_end = limit;
        }
        if (region_end < size) {
            continue;
        }
        // Walk candidate positions downward from the top of the region; when one
        // collides, the next is the highest that ends below the lowest range it hit.
        u64 candidate = align_down(region_end - size, alignment);
        while (candidate >= region.base.raw() && candidate + size <= region_end) {
            auto range = HostPhysRange::unchecked(HostPhysAddr(candidate), size);
            u64 lowest_hit = ~0ull;
            auto hit = [&](HostPhysRange other) {
                if (range.overlaps(other) && other.base().raw() < lowest_hit) {
                    lowest_hit = other.base().raw();
                }
            };
            hit(boot.image);
            hit(boot.info_structure);
            for (usize m = 0; m < boot.module_count; ++m) {
                hit(boot.modules[m].range);
            }
            for (usize a = 0; a < avoid_count; ++a) {
                hit(avoid[a]);
            }
            // Also stay clear of any non-usable region overlapping this one.
            for (usize r = 0; r < boot.memory_region_count; ++r) {
                const MemoryRegion& other = boot.memory_map[r];
                if (other.type != MemoryType::kUsable) {
                    hit(HostPhysRange::unchecked(other.base, other.size));
                }
            }
            if (lowest_hit == ~0ull) {
                if (!found || candidate > best.base().raw()) {
                    best = range;
                    found = true;
                }
                break;
            }
            if (lowest_hit < region.base.raw() + size) {
                break;
            }
            candidate = align_down(lowest_hit - size, alignment);
        }
    }
    if (!found) {
        return make_error(ErrorCode::kOutOfMemory,
                          "no usable {:#x}-byte range below {:#x} clear of the image and modules",
                          size, limit);
    }
    return best;
}

}  // namespace

Result<HostPhysRange> choose_handover_region(const BootInfo& boot, u64 size) {
    return find_free_place(boot, size, 2 * MiB, 4 * GiB, nullptr, 0);
}

Result<HostPhysRange> find_early_scratch(const BootInfo& boot, u64 size, const HostPhysRange* avoid,
                                         usize avoid_count) {
    return find_free_place(boot, align_up_unchecked(size, kPageSize4K), kPageSize4K, 4 * GiB, avoid,
                           avoid_count);
}

Status physical_memory_init(const BootInfo& boot, const PhysicalMemoryPlan& plan) {
    u64 limit = 0;
    for (usize i = 0; i < boot.memory_region_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        if (region.type == MemoryType::kUsable || region.type == MemoryType::kPreserved) {
            u64 end = region.base.raw() + region.size;
            if (end > limit) {
                limit = end;
            }
        }
    }
    if (limit == 0) {
        return make_error(ErrorCode::kOutOfMemory, "the memory map has no usable memory");
    }
    limit = align_up_unchecked(limit, kPageSize4K);
    u64 bitmap_bytes = align_up_unchecked(FrameAllocator::bitmap_bytes_for(limit), kPageSize4K);
    // The bitmap lives in usable memory below 4 GiB (reachable through the early map).
    HostPhysRange avoid[2] = {plan.handover, plan.image};
    RELAY_TRY_ASSIGN(bitmap_place,
                     find_free_place(boot, bitmap_bytes, kPageSize4K, 4 * GiB, avoid, 2));
    RELAY_TRY(allocator.init(phys_to_virt<u64>(bitmap_place.base()), bitmap_bytes / 8,
                             HostPhysAddr(limit)));

    RELAY_TRY(allocator.reserve(HostPhysRange::unchecked(HostPhysAddr(0), kPageSize4K),
                                "first page (real-mode IVT, null guard)"));
    RELAY_TRY(allocator.reserve(plan.image, "hypervisor image"));
    RELAY_TRY(allocator.reserve(boot.info_structure, "boot information"));
    RELAY_TRY(allocator.reserve(bitmap_place, "frame bitmap"));
    RELAY_TRY(allocator.reserve(plan.handover, "handover region"));
    for (usize i = 0; i < boot.module_count; ++i) {
        RELAY_TRY(allocator.reserve(boot.modules[i].range, "boot module"));
    }
    for (usize i = 0; i < plan.extra_count; ++i) {
        RELAY_TRY(allocator.reserve(plan.extra[i], plan.extra_owner[i]));
    }
    auto usable = [&](const MemoryRegion& region) {
        return region.type == MemoryType::kUsable ||
               (plan.preserved_is_usable && region.type == MemoryType::kPreserved);
    };
    for (usize i = 0; i < boot.memory_region_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        if (!usable(region)) {
            RELAY_TRY(allocator.reserve(
                HostPhysRange::unchecked(region.base, region.size),
                region.type == MemoryType::kPreserved ? "preserved" : "firmware"));
        }
    }
    for (usize i = 0; i < boot.memory_region_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        if (usable(region)) {
            RELAY_TRY(allocator.add_usable(HostPhysRange::unchecked(region.base, region.size)));
        }
    }
    return ok_status();
}

Status claim_frames(HostPhysRange range) {
    SpinlockGuard guard(allocator_lock);
    return allocator.claim(range);
}

Status release_frames(HostPhysRange range) {
    SpinlockGuard guard(allocator_lock);
    return allocator.release(range);
}

Result<HostPhysAddr> allocate_frames(u32 order, FrameAllocator::Window window) {
    SpinlockGuard guard(allocator_lock);
    return allocator.allocate(order, window);
}

Status free_frames(HostPhysAddr address, u32 order) {
    SpinlockGuard guard(allocator_lock);
    return allocator.free(address, order);
}

const FrameAllocator& frame_allocator() {
    return allocator;
}

}  // namespace relay
