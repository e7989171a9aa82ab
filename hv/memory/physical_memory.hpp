// The hypervisor's physical memory: one FrameAllocator behind a lock, initialised from
// the boot memory map with every range Relay must never hand out reserved first.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/memory/frame_allocator.hpp"
#include "lib/result.hpp"

namespace relay {

struct PhysicalMemoryPlan {
    HostPhysRange image;
    HostPhysRange handover;  // the handover region (both halves)
    // A boot that restores a live-update stream: memory the map marks preserved is
    // managed as usable, and the caller claims what the stream says is in use (guest RAM)
    // before anything is allocated; the rest becomes free. Otherwise preserved memory is
    // reserved like firmware memory.
    bool preserved_is_usable = false;
    // Further ranges to keep.
    usize extra_count = 0;
    HostPhysRange extra[32];
    const char* extra_owner[32] = {};
};

// Sets up the allocator: finds room for its bitmap, reserves the image, the boot
// information, every module, the handover region, firmware ranges and the first page,
// then adds the usable memory. Boot CPU only, before any other CPU runs.
Status physical_memory_init(const BootInfo& boot, const PhysicalMemoryPlan& plan);

Result<HostPhysAddr> allocate_frames(u32 order, FrameAllocator::Window window = {});
Status free_frames(HostPhysAddr address, u32 order);
// A specific range taken out of the free pool, and given back (FrameAllocator::claim,
// release).
Status claim_frames(HostPhysRange range);
Status release_frames(HostPhysRange range);

// Read-only view for reports (the caller must not allocate through it).
const FrameAllocator& frame_allocator();

// Picks the handover region at first boot: `size` bytes, 2 MiB aligned, below 4 GiB
// (the target image's 32-bit entry runs without paging), in usable memory clear of the
// image, the boot information and the modules; the highest such place.
Result<HostPhysRange> choose_handover_region(const BootInfo& boot, u64 size);

// Memory for work before the allocator exists: `size` bytes (4 KiB aligned) of usable
// memory below 4 GiB, clear of the image, the boot information, the modules and the
// `avoid` ranges. Memory the map calls preserved is never usable here.
Result<HostPhysRange> find_early_scratch(const BootInfo& boot, u64 size, const HostPhysRange* avoid,
                                         usize avoid_count);

}  // namespace relay
