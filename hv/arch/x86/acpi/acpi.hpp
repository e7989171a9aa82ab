// ACPI table discovery (ACPI 6.4 §5.2): RSDP → XSDT (or RSDT) → the tables Relay uses:
// MADT for the CPUs and their APIC IDs, IVRS (AMD-Vi) and DMAR (VT-d) located for the
// IOMMU drivers. Every table's checksum and length is checked before a field is read.
// Host-compilable: parses through a PhysicalMemoryReader.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/boot/physical_memory_reader.hpp"
#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay::acpi {

struct TableLocation {
    char signature[5] = {};
    HostPhysAddr address;
    u32 length = 0;
};

struct Cpu {
    u32 apic_id = 0;
    u32 processor_uid = 0;
    bool enabled = false;         // usable now
    bool online_capable = false;  // may be enabled later (hot-add); Relay does not start it
};

struct AcpiInfo {
    static constexpr usize kMaxTables = 64;
    static constexpr usize kMaxCpus = 256;

    HostPhysAddr rsdp_address;  // zero when the RSDP came from the boot loader's copy
    u8 revision = 0;
    char oem_id[7] = {};
    bool uses_xsdt = false;

    usize table_count = 0;
    TableLocation tables[kMaxTables];

    HostPhysAddr local_apic_address;
    bool has_8259_pics = false;  // MADT flags PCAT_COMPAT
    usize cpu_count = 0;
    Cpu cpus[kMaxCpus];

    const TableLocation* find(const char* signature) const;
};

// Finds the RSDP: the copy the boot loader passed (multiboot2), else the BIOS search of
// ACPI 6.4 §5.2.5.1 (first KiB of the EBDA, then 0xE0000..0xFFFFF on 16-byte
// boundaries). Returns the checksummed RSDP bytes in `rsdp_out` (36 bytes).
Status find_rsdp(const PhysicalMemoryReader& memory, const BootInfo& boot, u8* rsdp_out,
                 usize* rsdp_length, HostPhysAddr* found_at);

// Parses RSDP, the root table and the MADT into `out`.
Status parse_acpi(const PhysicalMemoryReader& memory, const u8* rsdp, usize rsdp_length,
                  AcpiInfo* out);

}  // namespace relay::acpi
