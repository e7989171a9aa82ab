// The hypervisor's virtual memory layout (docs/boot.md, "Virtual memory layout").
//
//   0xFFFF'8000'0000'0000  direct map of physical memory (pa + kDirectMapBase), 64 TiB
//   0xFFFF'C000'0000'0000  MMIO window (LAPIC, IOMMU registers), uncached, 1 TiB
//   0xFFFF'FE00'0000'0000  per-CPU stacks, each between unmapped guard pages
//   0xFFFF'FFFF'8000'0000  the image (text, rodata, data, bss), -mcmodel=kernel
//
// Nothing below 0xFFFF'8000'0000'0000 is mapped once the final page tables are live,
// except the AP trampoline page while application processors start.
#pragma once

#include "lib/address.hpp"
#include "lib/types.hpp"

namespace relay {

inline constexpr u64 kDirectMapBase = 0xFFFF'8000'0000'0000ull;
inline constexpr u64 kDirectMapSize = 64ull * 1024 * GiB;
inline constexpr u64 kMmioWindowBase = 0xFFFF'C000'0000'0000ull;
inline constexpr u64 kMmioWindowSize = 1024ull * GiB;
inline constexpr u64 kStackAreaBase = 0xFFFF'FE00'0000'0000ull;
inline constexpr u64 kImageBase = 0xFFFF'FFFF'8000'0000ull;

// Per-CPU stack slot: guard, kernel stack, guard, IST stacks separated by guards.
inline constexpr u64 kStackSlotSize = 128 * KiB;
inline constexpr u64 kKernelStackSize = 32 * KiB;
inline constexpr u64 kIstStackSize = 8 * KiB;

// Physical memory through the direct map. Valid for any RAM once the final page tables
// are live, and for the first 4 GiB from the first instruction of C++ code (the early
// page tables map that range there too).
template <typename T = void>
inline T* phys_to_virt(HostPhysAddr address) {
    return reinterpret_cast<T*>(kDirectMapBase + address.raw());
}

inline HostPhysAddr direct_map_to_phys(const void* pointer) {
    return HostPhysAddr(reinterpret_cast<u64>(pointer) - kDirectMapBase);
}

// The image's physical location (where the loader or purgatory put it).
HostPhysAddr image_phys_base();
inline HostPhysAddr image_virt_to_phys(const void* pointer) {
    return image_phys_base() + (reinterpret_cast<u64>(pointer) - kImageBase);
}

}  // namespace relay
