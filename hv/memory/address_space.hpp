// The hypervisor's own address space (hv/memory/layout.hpp): the image mapped with
// section permissions (text RX, rodata R, data RW; W^X), the direct map of RAM, an MMIO
// window and per-CPU stacks between guard pages. One set of tables shared by all CPUs.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/memory/page_table.hpp"
#include "lib/result.hpp"

namespace relay {

// PageTable memory backend for tables the hypervisor itself walks: frames from the frame
// allocator, accessed through the direct map, entries written with single atomic stores.
class HypervisorTableMemory {
public:
    Result<HostPhysAddr> allocate_table();
    void free_table(HostPhysAddr table);
    u64 read_entry(HostPhysAddr table, usize index);
    void write_entry(HostPhysAddr table, usize index, u64 value);
};

using HypervisorPageTable = PageTable<HvVirtAddr, HypervisorTableMemory>;

struct CpuStacks {
    u64 kernel_low;
    u64 kernel_top;
    u64 ist_top[3];  // double fault, NMI, machine check
};

class HypervisorAddressSpace {
public:
    // Builds the tables (root below 4 GiB, so 32-bit code can load it into CR3).
    Status build(const BootInfo& boot);
    // Loads CR3 on this CPU.
    void activate() const;
    HostPhysAddr root() const { return table_.root(); }

    // Maps device registers uncached into the MMIO window.
    Result<HvVirtAddr> map_mmio(HostPhysAddr base, u64 size);

    // Allocates and maps CPU `index`'s stacks, each between unmapped guard pages.
    Result<CpuStacks> map_cpu_stacks(u32 index);

    // A throw-away address space for starting application processors: the hypervisor's
    // upper half plus an identity mapping of the trampoline page. Released after use.
    Result<HostPhysAddr> create_trampoline_space(HostPhysAddr trampoline_page);
    void destroy_trampoline_space(HostPhysAddr root, HostPhysAddr trampoline_page);

private:
    Status map_image();
    Status map_direct(const BootInfo& boot);

    HypervisorTableMemory memory_;
    HypervisorPageTable table_{memory_, HostPhysAddr(0)};
    u64 mmio_next_ = 0;
};

HypervisorAddressSpace& hypervisor_address_space();

}  // namespace relay
