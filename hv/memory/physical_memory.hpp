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
    // Further ranges to keep (live-update preserved ranges, later).
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

// Read-only view for reports (the caller must not allocate through it).
const FrameAllocator& frame_allocator();

// Picks the handover region at first boot: `size` bytes, 2 MiB aligned, below 4 GiB
// (the target image's 32-bit entry runs without paging), in usable memory clear of the
// image, the boot information and the modules; the highest such place.
Result<HostPhysRange> choose_handover_region(const BootInfo& boot, u64 size);

}  // namespace relay
