// IVRS, the ACPI I/O Virtualization Reporting Structure (AMD IOMMU spec #48882 §5.2):
// which AMD-Vi units exist, where their registers are, and which PCI device ids each one
// translates, with the per-device settings firmware wants in their device table entries.
//
// parse_ivrs() reads the table bytes (Relay's ACPI code has already located the table and
// checked its checksum) into a fixed-capacity IvrsInfo: no heap, so it runs in the
// hypervisor as well as on the host. Every malformed construct is an error naming what is
// wrong and its byte offset in the table; block types this parser does not know are
// skipped, as §5.2 asks of software.
//
// Blocks handled:
//   IVHD 10h, 11h, 40h  I/O virtualization hardware definition: one AMD-Vi unit each. When
//                       firmware describes one unit (same segment and device id) with
//                       several IVHD types, only the highest type is used (§5.2.2: newer
//                       software prefers the newer format; the older one is for older
//                       software). Two blocks of one type for one unit are an error.
//   IVMD 20h, 21h, 22h  I/O virtualization memory definition: unity-mapped or excluded
//                       memory for all devices, one device, or a range of devices.
#pragma once

#include "iommu/device_id.hpp"
#include "lib/address.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::amd_vi {

using iommu::DeviceId;

// IVHD block types (§5.2.2.1).
inline constexpr u8 kIvhdType10 = 0x10;  // fixed-length entries, legacy feature field
inline constexpr u8 kIvhdType11 = 0x11;  // adds the EFR register image
inline constexpr u8 kIvhdType40 = 0x40;  // 11h plus ACPI HID device entries
// IVMD block types (§5.2.3).
inline constexpr u8 kIvmdAll = 0x20;
inline constexpr u8 kIvmdSelect = 0x21;
inline constexpr u8 kIvmdRange = 0x22;

// The "DTE setting" byte of IVHD device entries (§5.2.2.2, Table 96): bits firmware asks
// system software to copy into the device's device table entry.
struct DteSetting {
    bool init_pass = false;     // bit 0 -> DTE bit 184
    bool ext_int_pass = false;  // bit 1 -> DTE bit 185
    bool nmi_pass = false;      // bit 2 -> DTE bit 186
    u8 system_management = 0;   // bits 5:4 -> DTE SysMgt, bits 105:104
    bool lint0_pass = false;    // bit 6 -> DTE bit 190
    bool lint1_pass = false;    // bit 7 -> DTE bit 191

    static constexpr DteSetting decode(u8 raw) {
        DteSetting s;
        s.init_pass = (raw & 0x01) != 0;
        s.ext_int_pass = (raw & 0x02) != 0;
        s.nmi_pass = (raw & 0x04) != 0;
        s.system_management = static_cast<u8>((raw >> 4) & 3);
        s.lint0_pass = (raw & 0x40) != 0;
        s.lint1_pass = (raw & 0x80) != 0;
        return s;
    }
};

// What kind of IVHD device entry produced a DeviceRange (§5.2.2.2, Table 95).
enum class DeviceEntryKind : u8 {
    kAll,             // 01h: every device id
    kSelect,          // 02h
    kRange,           // 03h + 04h
    kAliasSelect,     // 42h
    kAliasRange,      // 43h + 04h
    kExtendedSelect,  // 46h
    kExtendedRange,   // 47h + 04h
    kSpecial,         // 48h: an IOAPIC or HPET and the device id its interrupts carry
    kAcpiHid,         // F0h: a device named by ACPI _HID/_CID
};

const char* device_entry_kind_name(DeviceEntryKind kind);

enum class SpecialVariety : u8 {
    kIoApic = 1,
    kHpet = 2,
};

// A contiguous range of device ids [first, last] behind one unit, with the settings the
// entry gave them.
struct DeviceRange {
    DeviceEntryKind kind = DeviceEntryKind::kSelect;
    DeviceId first;
    DeviceId last;
    u8 dte_setting = 0;  // raw byte; DteSetting::decode() names its bits
    // Alias entries: requests of these devices reach the IOMMU carrying `alias` as their
    // requester id (for example behind a PCIe-to-PCI bridge), so the device table entry
    // that governs them is the alias's.
    bool aliased = false;
    DeviceId alias;
    u32 extended_setting = 0;  // 46h/47h; bit 31 = ATS disabled
    // 48h special devices.
    u8 special_handle = 0;   // IOAPIC id or HPET number
    u8 special_variety = 0;  // SpecialVariety, raw (unknown values are kept)
    // F0h ACPI devices: _HID and _CID as the table stores them (8 bytes, NUL padded).
    char hardware_id[9] = {};
    char compatible_id[9] = {};
    u32 table_offset = 0;  // of the (first) entry, for messages

    constexpr bool contains(DeviceId id) const { return id >= first && id <= last; }
    // The device id whose device table entry governs `id` (the alias when aliased).
    constexpr DeviceId requester_id(DeviceId id) const { return aliased ? alias : id; }
};

// One AMD-Vi unit (from the IVHD block chosen for it).
struct IommuUnit {
    u8 block_type = 0;          // 10h, 11h or 40h
    u8 flags = 0;               // IVHD flags (HtTunEn, PassPW, ResPassPW, Isoc, IotlbSup, ...)
    DeviceId device_id;         // the IOMMU's own PCI function
    u16 capability_offset = 0;  // of its IOMMU capability block in PCI config space
    HostPhysAddr mmio_base;     // of its MMIO register block
    u16 pci_segment = 0;
    u16 iommu_info = 0;  // MSINum in 4:0, UnitID in 12:8
    // Type 10h: "IOMMU Feature Reporting" (HATS 31:30, GATS 29:28, ... GASup 6, GTSup 2);
    // types 11h/40h: "IOMMU Attributes" (MSINumPPR 27:23, PNBanks 22:17, PNCounters 16:13).
    u32 feature_reporting = 0;
    u64 efr_image = 0;      // 11h/40h: what the Extended Feature Register reads
    u64 efr_image2 = 0;     // 11h/40h: Extended Feature Register 2 image
    usize first_range = 0;  // index into IvrsInfo::ranges
    usize range_count = 0;
    u32 table_offset = 0;  // of the IVHD block

    u8 msi_number() const { return static_cast<u8>(iommu_info & 0x1F); }
    u8 unit_id() const { return static_cast<u8>((iommu_info >> 8) & 0x1F); }
};

// An IVMD block: memory that devices must see identity-mapped (unity) or that bypasses
// translation (exclusion range).
struct MemoryDefinition {
    u8 block_type = 0;  // 20h all devices, 21h one device, 22h a range of devices
    u8 flags = 0;       // bit 0 Unity, 1 IR, 2 IW, 3 ExclusionRange
    DeviceId first;
    DeviceId last;
    HostPhysAddr start;
    u64 length = 0;
    u32 table_offset = 0;

    bool unity() const { return (flags & 1) != 0; }
    bool read() const { return (flags & 2) != 0; }
    bool write() const { return (flags & 4) != 0; }
    bool exclusion() const { return (flags & 8) != 0; }
};

struct IvrsInfo {
    static constexpr usize kMaxUnits = 8;
    static constexpr usize kMaxRanges = 256;
    static constexpr usize kMaxMemoryDefinitions = 16;
    static constexpr usize kMaxBlocks = 64;  // IVHD blocks of any type, before selection

    u8 revision = 0;
    u32 iv_info = 0;  // IVinfo (§5.2.1): EFRSup 0, DMARemap 1, GVASize 7:5, PASize 14:8, ...

    usize unit_count = 0;
    IommuUnit units[kMaxUnits];
    usize range_count = 0;
    DeviceRange ranges[kMaxRanges];
    usize memory_count = 0;
    MemoryDefinition memory[kMaxMemoryDefinitions];

    // Blocks of types this parser does not know (skipped, §5.2).
    usize skipped_blocks = 0;
    // IVHD blocks not used because a higher type describes the same unit.
    usize superseded_blocks = 0;
    // Reserved device entry types skipped.
    usize skipped_entries = 0;

    bool efr_supported() const { return (iv_info & 1) != 0; }
    u8 physical_address_bits() const { return static_cast<u8>((iv_info >> 8) & 0x7F); }
    u8 virtual_address_bits() const { return static_cast<u8>((iv_info >> 15) & 0x7F); }

    const DeviceRange* unit_ranges(const IommuUnit& unit) const {
        return ranges + unit.first_range;
    }

    // The unit that translates `id` in `segment` and the most specific entry naming it
    // (the smallest range; a later entry wins a tie). Null when no unit claims the device.
    const IommuUnit* unit_for(u16 segment, DeviceId id, const DeviceRange** range = nullptr) const;

    // The first memory definition (IVMD) that names requester id `id`, or null. Such a
    // device relies on memory the firmware wants identity-mapped or untranslated for it.
    const MemoryDefinition* memory_for(DeviceId id) const;
};

// Parses an IVRS table of `length` bytes (at least the length its header states).
Status parse_ivrs(const u8* table, usize length, IvrsInfo* out);

}  // namespace relay::amd_vi
