// Read access to physical memory for parsers that follow physical pointers (multiboot,
// ACPI). The hypervisor implements it over its identity or direct map; host tests
// implement it over a buffer, so every parser runs against crafted memory.
#pragma once

#include "lib/address.hpp"
#include "lib/types.hpp"

namespace relay {

class PhysicalMemoryReader {
public:
    // Returns a pointer through which [address, address + size) can be read, or nullptr
    // when any byte of that range is not accessible.
    virtual const u8* map(HostPhysAddr address, u64 size) const = 0;

protected:
    ~PhysicalMemoryReader() = default;
};

}  // namespace relay
