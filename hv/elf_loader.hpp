// Loads an ELF64 x86-64 executable (a domain's kernel module) into guest memory
// (docs/hyperlaunch.md, "Kernels"). The file is hostile until checked: every header,
// count, offset and size is validated before a byte is copied, and segments must land
// inside the guest RAM window the caller allows. Host-compilable: unit-tested with
// crafted files.
#pragma once

#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay {

// Where loaded bytes go (the domain's RAM in the hypervisor, a buffer in tests).
class GuestMemoryWriter {
public:
    virtual Status write(GuestPhysAddr destination, const u8* source, u64 length) = 0;
    virtual Status zero(GuestPhysAddr destination, u64 length) = 0;

protected:
    ~GuestMemoryWriter() = default;
};

struct ElfLoadLimits {
    GuestPhysAddr lowest;   // segments may not start below (the builder's low layout)
    GuestPhysAddr highest;  // nor end above (end of the RAM region the kernel lives in)
    u32 max_segments = 32;
};

struct ElfImage {
    GuestPhysAddr entry;
    GuestPhysAddr lowest;   // lowest byte loaded
    GuestPhysAddr highest;  // one past the highest byte loaded (incl. .bss)
    u32 segments = 0;
};

// Checks `file` without loading it.
Result<ElfImage> inspect_elf(const u8* file, u64 size, const ElfLoadLimits& limits);

// Checks, then copies every PT_LOAD segment to its p_paddr and zeroes the rest of its
// memory size.
Result<ElfImage> load_elf(const u8* file, u64 size, const ElfLoadLimits& limits,
                          GuestMemoryWriter& memory);

}  // namespace relay
