#include "hv/memory/address_space.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/lib/spinlock.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"

extern "C" char __image_start[], __text_end[], __rodata_start[], __data_start[], __image_end[];

namespace relay {

namespace {
HypervisorAddressSpace kernel_space;
Spinlock mmio_lock;
}  // namespace

HypervisorAddressSpace& hypervisor_address_space() {
    return kernel_space;
}

Result<HostPhysAddr> HypervisorTableMemory::allocate_table() {
    // Below 4 GiB: the early map reaches it, and a root there fits a 32-bit CR3 load.
    RELAY_TRY_ASSIGN(frame, allocate_frames(0, {HostPhysAddr(1 * MiB), HostPhysAddr(4 * GiB)}));
    u64* entries = phys_to_virt<u64>(frame);
    for (usize i = 0; i < pte::kEntries; ++i) {
        entries[i] = 0;
    }
    return frame;
}

void HypervisorTableMemory::free_table(HostPhysAddr table) {
    Status status = free_frames(table, 0);
    if (!status.ok()) {
        log_error("page table frame {}: {}", table, status.error().message());
    }
}

u64 HypervisorTableMemory::read_entry(HostPhysAddr table, usize index) {
    return __atomic_load_n(phys_to_virt<u64>(table) + index, __ATOMIC_RELAXED);
}

void HypervisorTableMemory::write_entry(HostPhysAddr table, usize index, u64 value) {
    __atomic_store_n(phys_to_virt<u64>(table) + index, value, __ATOMIC_RELEASE);
}

Status HypervisorAddressSpace::build(const BootInfo& boot) {
    RELAY_TRY_ASSIGN(table, HypervisorPageTable::create(memory_));
    table_ = table;
    RELAY_TRY(map_image());
    RELAY_TRY(map_direct(boot));
    mmio_next_ = kMmioWindowBase;
    return ok_status();
}

Status HypervisorAddressSpace::map_image() {
    struct Section {
        const char* name;
        char* start;
        char* end;
        bool write;
        bool execute;
    } sections[] = {
        {"text", __image_start, __text_end, false, true},
        {"rodata", __rodata_start, __data_start, false, false},
        {"data", __data_start, __image_end, true, false},
    };
    for (const Section& section : sections) {
        u64 start = align_down(reinterpret_cast<u64>(section.start), kPageSize4K);
        u64 end = align_up_unchecked(reinterpret_cast<u64>(section.end), kPageSize4K);
        if (end <= start) {
            continue;
        }
        PageAttributes attributes;
        attributes.write = section.write;
        attributes.execute = section.execute;
        attributes.global = true;
        Status status =
            table_.map(HvVirtAddr(start), image_virt_to_phys(reinterpret_cast<void*>(start)),
                       end - start, attributes, kPageSize4K);
        if (!status.ok()) {
            return status.error().prefix("mapping image {}: ", section.name);
        }
    }
    return ok_status();
}

Status HypervisorAddressSpace::map_direct(const BootInfo& boot) {
    // Usable and ACPI memory, merged into sorted disjoint ranges first (firmware maps
    // may overlap or come unsorted).
    constexpr usize kMax = BootInfo::kMaxMemoryRegions;
    u64 starts[kMax];
    u64 ends[kMax];
    usize count = 0;
    for (usize i = 0; i < boot.memory_region_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        if (region.type != MemoryType::kUsable && region.type != MemoryType::kAcpiReclaimable &&
            region.type != MemoryType::kAcpiNvs && region.type != MemoryType::kPreserved) {
            continue;
        }
        if (region.size == 0) {
            continue;
        }
        u64 start = align_down(region.base.raw(), kPageSize4K);
        u64 end = align_up_unchecked(region.base.raw() + region.size, kPageSize4K);
        if (end > kDirectMapSize) {
            log_warning("memory above {:#x} is not direct-mapped", kDirectMapSize);
            end = kDirectMapSize;
        }
        if (start >= end) {
            continue;
        }
        // Insertion sort by start.
        usize position = count++;
        while (position > 0 && starts[position - 1] > start) {
            starts[position] = starts[position - 1];
            ends[position] = ends[position - 1];
            --position;
        }
        starts[position] = start;
        ends[position] = end;
    }
    usize merged = 0;
    for (usize i = 0; i < count; ++i) {
        if (merged > 0 && starts[i] <= ends[merged - 1]) {
            if (ends[i] > ends[merged - 1]) {
                ends[merged - 1] = ends[i];
            }
            continue;
        }
        starts[merged] = starts[i];
        ends[merged] = ends[i];
        ++merged;
    }
    PageAttributes attributes;
    attributes.write = true;
    attributes.global = true;
    for (usize i = 0; i < merged; ++i) {
        Status status = table_.map(HvVirtAddr(kDirectMapBase + starts[i]), HostPhysAddr(starts[i]),
                                   ends[i] - starts[i], attributes);
        if (!status.ok()) {
            return status.error().prefix("direct map of {:#x}..{:#x}: ", starts[i], ends[i]);
        }
    }
    return ok_status();
}

void HypervisorAddressSpace::activate() const {
    x86::write_cr3(table_.root().raw());
}

Result<HvVirtAddr> HypervisorAddressSpace::map_mmio(HostPhysAddr base, u64 size) {
    // An address from firmware (an ACPI table) that the CPU cannot reach would make the
    // mapping invalid, and the first access a page fault.
    u64 limit = u64{1} << x86::physical_address_bits();
    if (base.raw() >= limit || size > limit - base.raw()) {
        return make_error(ErrorCode::kOutOfRange,
                          "MMIO {} + {:#x} lies beyond the CPU's {}-bit physical addresses", base,
                          size, x86::physical_address_bits());
    }
    SpinlockGuard guard(mmio_lock);
    HostPhysAddr page = base.align_down(kPageSize4K);
    u64 length = align_up_unchecked(size + (base - page), kPageSize4K);
    if (mmio_next_ + length > kMmioWindowBase + kMmioWindowSize) {
        return make_error(ErrorCode::kOutOfMemory, "MMIO window exhausted mapping {}", base);
    }
    PageAttributes attributes;
    attributes.write = true;
    attributes.global = true;
    attributes.cache = CacheMode::kUncached;
    HvVirtAddr virtual_base(mmio_next_);
    RELAY_TRY(table_.map(virtual_base, page, length, attributes, kPageSize4K));
    mmio_next_ += length + kPageSize4K;  // a guard page between devices
    return virtual_base + (base - page);
}

Result<CpuStacks> HypervisorAddressSpace::map_cpu_stacks(u32 index) {
    u64 slot = kStackAreaBase + static_cast<u64>(index) * kStackSlotSize;
    PageAttributes attributes;
    attributes.write = true;
    attributes.global = true;
    auto map_stack = [&](u64 low, u64 size) -> Status {
        for (u64 offset = 0; offset < size; offset += kPageSize4K) {
            RELAY_TRY_ASSIGN(frame, allocate_frames(0));
            RELAY_TRY(table_.map(HvVirtAddr(low + offset), frame, kPageSize4K, attributes));
        }
        return ok_status();
    };
    CpuStacks stacks;
    u64 cursor = slot + kPageSize4K;  // guard below the kernel stack
    RELAY_TRY(map_stack(cursor, kKernelStackSize));
    stacks.kernel_low = cursor;
    stacks.kernel_top = cursor + kKernelStackSize;
    cursor += kKernelStackSize + kPageSize4K;
    for (int i = 0; i < 3; ++i) {
        RELAY_TRY(map_stack(cursor, kIstStackSize));
        stacks.ist_top[i] = cursor + kIstStackSize;
        cursor += kIstStackSize + kPageSize4K;
    }
    return stacks;
}

Result<HostPhysAddr> HypervisorAddressSpace::create_trampoline_space(HostPhysAddr trampoline_page) {
    HypervisorTableMemory memory;
    RELAY_TRY_ASSIGN(space, HypervisorPageTable::create(memory));
    // Share the upper half: same PDPTs, so everything the hypervisor maps is there too.
    for (usize i = 256; i < pte::kEntries; ++i) {
        memory.write_entry(space.root(), i, memory.read_entry(table_.root(), i));
    }
    PageAttributes attributes;
    attributes.write = true;
    attributes.execute = true;
    RELAY_TRY(
        space.map(HvVirtAddr(trampoline_page.raw()), trampoline_page, kPageSize4K, attributes));
    return space.root();
}

void HypervisorAddressSpace::destroy_trampoline_space(HostPhysAddr root,
                                                      HostPhysAddr trampoline_page) {
    HypervisorTableMemory memory;
    HypervisorPageTable space(memory, root);
    Status status = space.unmap(HvVirtAddr(trampoline_page.raw()), kPageSize4K);
    if (!status.ok()) {
        log_error("trampoline space: {}", status.error().message());
    }
    // Detach the shared upper half before freeing the root, so destroy() frees only ours.
    for (usize i = 256; i < pte::kEntries; ++i) {
        memory.write_entry(root, i, 0);
    }
    space.destroy();
}

}  // namespace relay
