// AMD-Vi formats (AMD I/O Virtualization Technology (IOMMU) Specification #48882): the
// MMIO register block (§3.4), the 256-bit device table entry (§2.2.2), the 128-bit
// commands (§2.4) and event log entries (§2.5). Encoders check what they are given;
// decoders name what they find. Freestanding and hosted.
//
// What QEMU 7.2's `amd-iommu` model does with each of these is in README.md.
#pragma once

#include "iommu/device_id.hpp"
#include "lib/address.hpp"
#include "lib/format.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::amd_vi {

using iommu::DeviceId;

// MMIO register offsets (§3.4). Every register is 64 bits wide.
namespace mmio {
inline constexpr u32 kDeviceTableBase = 0x0000;
inline constexpr u32 kCommandBufferBase = 0x0008;
inline constexpr u32 kEventLogBase = 0x0010;
inline constexpr u32 kControl = 0x0018;
inline constexpr u32 kExclusionBase = 0x0020;
inline constexpr u32 kExclusionLimit = 0x0028;
inline constexpr u32 kExtendedFeatures = 0x0030;
inline constexpr u32 kPprLogBase = 0x0038;
inline constexpr u32 kCommandHead = 0x2000;
inline constexpr u32 kCommandTail = 0x2008;
inline constexpr u32 kEventHead = 0x2010;
inline constexpr u32 kEventTail = 0x2018;
inline constexpr u32 kStatus = 0x2020;
inline constexpr u32 kPprHead = 0x2030;
inline constexpr u32 kPprTail = 0x2038;
// The block is at least 16 KiB (QEMU's size; newer hardware has more registers above).
inline constexpr u32 kSize = 0x4000;

const char* register_name(u32 offset);
}  // namespace mmio

// IOMMU Control Register bits (MMIO 0x18, §3.4.3).
namespace control {
inline constexpr u64 kIommuEnable = 1ull << 0;
inline constexpr u64 kHtTunnelEnable = 1ull << 1;
inline constexpr u64 kEventLogEnable = 1ull << 2;
inline constexpr u64 kEventInterruptEnable = 1ull << 3;
inline constexpr u64 kCompletionWaitInterruptEnable = 1ull << 4;
inline constexpr u64 kInvalidationTimeoutMask = 7ull << 5;
inline constexpr u64 kPassPostedWrite = 1ull << 8;
inline constexpr u64 kResponsePassPostedWrite = 1ull << 9;
inline constexpr u64 kCoherent = 1ull << 10;
inline constexpr u64 kIsochronous = 1ull << 11;
inline constexpr u64 kCommandBufferEnable = 1ull << 12;
inline constexpr u64 kPprLogEnable = 1ull << 13;
inline constexpr u64 kPprInterruptEnable = 1ull << 14;
inline constexpr u64 kPprEnable = 1ull << 15;
inline constexpr u64 kGuestTranslationEnable = 1ull << 16;
inline constexpr u64 kGuestVirtualApicEnable = 1ull << 17;
}  // namespace control

// IOMMU Status Register bits (MMIO 0x2020, §3.4.12). Bits 0-2 and 5-6 are write-1-to-clear.
namespace status {
inline constexpr u64 kEventOverflow = 1ull << 0;
inline constexpr u64 kEventLogInterrupt = 1ull << 1;
inline constexpr u64 kCompletionWaitInterrupt = 1ull << 2;
inline constexpr u64 kEventLogRunning = 1ull << 3;
inline constexpr u64 kCommandBufferRunning = 1ull << 4;
inline constexpr u64 kPprOverflow = 1ull << 5;
inline constexpr u64 kPprInterrupt = 1ull << 6;
inline constexpr u64 kPprLogRunning = 1ull << 7;
}  // namespace status

// Extended Feature Register bits (MMIO 0x30, §3.4.5).
namespace feature {
inline constexpr u64 kPrefetch = 1ull << 0;
inline constexpr u64 kPpr = 1ull << 1;
inline constexpr u64 kX2Apic = 1ull << 2;  // XTSup
inline constexpr u64 kNoExecute = 1ull << 3;
inline constexpr u64 kGuestTranslation = 1ull << 4;
inline constexpr u64 kInvalidateAll = 1ull << 6;  // INVALIDATE_IOMMU_ALL
inline constexpr u64 kGuestVirtualApic = 1ull << 7;
inline constexpr u64 kHardwareError = 1ull << 8;
inline constexpr u64 kPerformanceCounters = 1ull << 9;
inline constexpr u32 kHostAddressTranslationSizeShift = 10;   // HATS, 2 bits
inline constexpr u32 kGuestAddressTranslationSizeShift = 12;  // GATS, 2 bits

// The deepest host page table the unit walks (HATS: 0 -> 4 levels, 1 -> 5, 2 -> 6).
constexpr u8 max_host_levels(u64 extended_features) {
    u64 hats = (extended_features >> kHostAddressTranslationSizeShift) & 3;
    return hats == 3 ? 4 : static_cast<u8>(4 + hats);
}
}  // namespace feature

// Device table: up to 64 Ki entries of 32 bytes, 4 KiB units (§2.2.2, §3.4.1).
inline constexpr u32 kDeviceTableEntrySize = 32;
inline constexpr u32 kDeviceTableEntriesPerPage = 4096 / kDeviceTableEntrySize;
inline constexpr u32 kMaxDeviceTableEntries = 0x10000;
// Command buffer and event log: 16-byte entries, 256..32768 of them, a power of two
// (ComLen/EventLen 1000b..1111b, §3.4.2, §3.4.4).
inline constexpr u32 kCommandSize = 16;
inline constexpr u32 kEventSize = 16;
inline constexpr u32 kMinRingEntries = 256;
inline constexpr u32 kMaxRingEntries = 32768;
// Head and tail registers hold a byte offset in bits 18:4.
inline constexpr u64 kRingPointerMask = 0x7FFF0;

struct DeviceTableRegister {
    HostPhysAddr base;
    u32 entries = 0;  // a multiple of 128
};
struct RingRegister {
    HostPhysAddr base;
    u32 entries = 0;  // a power of two, 256..32768
};

// The Device Table Base Address Register value for a table of `entries` entries at
// `base` (4 KiB aligned, below 2^52).
Result<u64> encode_device_table_register(DeviceTableRegister table);
DeviceTableRegister decode_device_table_register(u64 value);
// The Command Buffer / Event Log Base Address Register value (`what` names the ring in
// errors).
Result<u64> encode_ring_register(RingRegister ring, const char* what);
RingRegister decode_ring_register(u64 value);

// ---------------------------------------------------------------------------------------
// Device table entry (§2.2.2.1, Figure 7 and Table 7). Relay uses the host page table
// fields and the interrupt control fields: no guest (GCR3) translation, no PPR, no remote
// IOTLB, no interrupt remapping table. Every entry Relay writes has IV=1 with IntCtl
// "target abort" and no pass bits (§2.2.5): a device's write to the interrupt address
// range 0xFEEx_xxxx is an interrupt request, which the page table does not govern; with
// IV=0 it would reach the host's local APICs as sent (any vector, NMI, INIT). Relay uses
// no device interrupts, so every one is refused.

struct DeviceTableEntry {
    u64 words[4] = {};
    constexpr bool operator==(const DeviceTableEntry&) const = default;
};

namespace dte {
// Word 0.
inline constexpr u64 kValid = 1ull << 0;             // V
inline constexpr u64 kTranslationValid = 1ull << 1;  // TV
inline constexpr u32 kModeShift = 9;                 // Mode, bits 11:9: paging levels
inline constexpr u64 kModeMask = 7ull << kModeShift;
inline constexpr u64 kRootMask = 0x000F'FFFF'FFFF'F000;  // Page Table Root Pointer 51:12
inline constexpr u64 kIoRead = 1ull << 61;               // IR
inline constexpr u64 kIoWrite = 1ull << 62;              // IW
// Word 1.
inline constexpr u64 kDomainIdMask = 0xFFFF;
inline constexpr u64 kIotlbEnable = 1ull << 32;        // I
inline constexpr u64 kSuppressFaults = 1ull << 33;     // SE: repeated faults of a page
inline constexpr u64 kSuppressAllFaults = 1ull << 34;  // SA
inline constexpr u32 kIoControlShift = 35;             // IoCtl, 2 bits
inline constexpr u64 kCacheHint = 1ull << 37;          // Cache
inline constexpr u64 kSnoopDisable = 1ull << 38;       // SD
inline constexpr u64 kAllowExclusion = 1ull << 39;     // EX
inline constexpr u32 kSystemManagementShift = 40;      // SysMgt, 2 bits
// Bits Relay never sets (guest translation, PPR, HAD, reserved): an entry with any of
// them is not one Relay wrote.
inline constexpr u64 kWord0Foreign = 0x9FF0'0000'0000'01FCull;  // 63, 60:52, 8:2
inline constexpr u64 kWord1Foreign = 0xFFFF'FC00'FFFF'0000ull;  // 63:42, 31:16
// Word 2: interrupt remapping (§2.2.5).
inline constexpr u64 kInterruptMapValid = 1ull << 0;  // IV: word 2 is valid
inline constexpr u64 kInitPass = 1ull << 56;          // INIT messages pass
inline constexpr u64 kExtIntPass = 1ull << 57;        // ExtInt messages pass
inline constexpr u64 kNmiPass = 1ull << 58;           // NMI messages pass
inline constexpr u32 kInterruptControlShift = 60;     // IntCtl, 2 bits: fixed/arbitrated
inline constexpr u64 kLint0Pass = 1ull << 62;
inline constexpr u64 kLint1Pass = 1ull << 63;
// Interrupt table length, IG, interrupt table root, reserved: Relay keeps no interrupt
// table, so an entry with any of them is not one Relay wrote.
inline constexpr u64 kWord2Foreign = 0x08FF'FFFF'FFFF'FFFEull;  // 59, 55:1
// Word 3 is reserved.
// What every entry Relay writes has in word 2: IV=1, IntCtl=0 (target abort), no pass
// bits. A single quadword, so it can be set in a live entry in one store.
inline constexpr u64 kInterruptsRefused = kInterruptMapValid;
}  // namespace dte

// IntCtl (§2.2.5): what happens to fixed and arbitrated interrupts when IV=1.
enum class InterruptControl : u8 {
    kAbort = 0,            // target abort
    kForwardUnmapped = 1,  // pass as sent
    kRemap = 2,            // through the interrupt remapping table
};

// The fields Relay uses, named.
struct DeviceTableEntryFields {
    bool valid = false;
    bool translation_valid = false;
    u8 mode = 0;  // 0: no translation (IR/IW alone decide); 1..6: page table levels
    HostPhysAddr page_table_root;
    bool read = false;   // IR
    bool write = false;  // IW
    u16 domain_id = 0;
    bool iotlb_enable = false;
    bool suppress_faults = false;
    bool suppress_all_faults = false;
    u8 io_control = 0;  // IoCtl: 0 abort port I/O, 1 forward, 2 translate
    bool cache_hint = false;
    bool snoop_disable = false;
    bool allow_exclusion = false;
    u8 system_management = 0;  // SysMgt: 0 abort, 1 forward, 2 forward INTx, 3 translate
    // Word 2. With IV=0 interrupt requests pass unremapped and the rest is ignored.
    bool interrupt_map_valid = false;  // IV
    InterruptControl interrupt_control = InterruptControl::kAbort;
    bool init_pass = false;
    bool ext_int_pass = false;
    bool nmi_pass = false;
    bool lint0_pass = false;
    bool lint1_pass = false;

    // Whether no interrupt request of the device can reach a CPU: IV=1, IntCtl abort, no
    // pass bits (SMI is SysMgt's, and Relay's entries abort it too).
    constexpr bool refuses_interrupts() const {
        return interrupt_map_valid && interrupt_control == InterruptControl::kAbort && !init_pass &&
               !ext_int_pass && !nmi_pass && !lint0_pass && !lint1_pass;
    }

    constexpr bool operator==(const DeviceTableEntryFields&) const = default;
};

// Checks the fields (mode 0..6, root 4 KiB aligned below 2^52 and present when mode > 0,
// two-bit fields in range, IntCtl not "remap", which needs a table) and packs them.
Result<DeviceTableEntry> encode_device_table_entry(const DeviceTableEntryFields& fields);
// Unpacks an entry; refuses one with bits outside the fields above (guest translation,
// PPR, an interrupt table, reserved), naming the word and the bits.
Result<DeviceTableEntryFields> decode_device_table_entry(const DeviceTableEntry& entry);

// V=1, TV=1, Mode=0, IR=IW=0: every DMA request of the device is refused (§2.2.2.1). V=0
// would instead let DMA through untranslated. `system_management` comes from the IVHD
// DTE setting (DteSetting::system_management). Interrupt requests are refused too.
DeviceTableEntry blocked_device_table_entry(u8 system_management = 0);
// Translation through a `levels`-level I/O page table at `root`, tagged `domain_id`;
// interrupt requests refused.
Result<DeviceTableEntry> translated_device_table_entry(u16 domain_id, HostPhysAddr root, u8 levels,
                                                       bool read, bool write);

// ---------------------------------------------------------------------------------------
// Commands (§2.4). The opcode sits in bits 63:60 of the first quadword.

struct Command {
    u64 words[2] = {};
    constexpr bool operator==(const Command&) const = default;
};

enum class CommandOpcode : u8 {
    kCompletionWait = 0x1,
    kInvalidateDeviceTableEntry = 0x2,
    kInvalidateIommuPages = 0x3,
    kInvalidateIotlbPages = 0x4,
    kInvalidateInterruptTable = 0x5,
    kPrefetchIommuPages = 0x6,
    kCompletePprRequest = 0x7,
    kInvalidateIommuAll = 0x8,
};

constexpr u8 command_opcode(const Command& command) {
    return static_cast<u8>(command.words[0] >> 60);
}
const char* command_name(u8 opcode);

// COMPLETION_WAIT (§2.4.1): when every earlier command has completed, store `data`
// (8 bytes) at `store` (8-byte aligned; bits 2:0 are not encoded) and, with `interrupt`,
// raise the completion-wait interrupt.
Command completion_wait(HostPhysAddr store, u64 data, bool interrupt = false);
// INVALIDATE_DEVTAB_ENTRY (§2.4.2).
Command invalidate_device_table_entry(DeviceId device);
// INVALIDATE_IOMMU_PAGES (§2.4.3) for [address, address + size) of `domain_id`: one page
// (S=0) or the smallest naturally aligned power-of-two block that covers the range (S=1,
// the size encoded by the lowest clear address bit from bit 12). PDE=1: cached page
// directory entries go as well, which unmapping (that frees tables) needs. A size of 0,
// or a range no block below 2^64 covers, gives the "all pages" form.
Command invalidate_iommu_pages(u16 domain_id, u64 address, u64 size);
Command invalidate_iommu_pages_all(u16 domain_id);
// INVALIDATE_INTERRUPT_TABLE (§2.4.5).
Command invalidate_interrupt_table(DeviceId device);
// INVALIDATE_IOMMU_ALL (§2.4.8; only when the EFR reports IASup).
Command invalidate_iommu_all();

// What an INVALIDATE_IOMMU_PAGES command covers: [first, last] of domain_id.
struct PageInvalidation {
    u16 domain_id = 0;
    u64 first = 0;
    u64 last = 0;
    bool page_directories = false;
};
PageInvalidation decode_invalidate_iommu_pages(const Command& command);

// ---------------------------------------------------------------------------------------
// Event log entries (§2.5). The event code sits in bits 63:60 of the first quadword, the
// flags in bits 59:48.

struct EventLogEntry {
    u64 words[2] = {};
    constexpr bool operator==(const EventLogEntry&) const = default;
};

enum class EventCode : u8 {
    kIllegalDeviceTableEntry = 0x1,
    kIoPageFault = 0x2,
    kDeviceTableHardwareError = 0x3,
    kPageTableHardwareError = 0x4,
    kIllegalCommandError = 0x5,
    kCommandHardwareError = 0x6,
    kIotlbInvalidationTimeout = 0x7,
    kInvalidDeviceRequest = 0x8,
    kInvalidPprRequest = 0x9,
};

// Flag bits of an event (bit 48 of the entry is bit 0 here).
namespace event_flag {
inline constexpr u16 kGuest = 1 << 0;              // GN: guest (nested) address
inline constexpr u16 kNoExecute = 1 << 1;          // NX
inline constexpr u16 kUser = 1 << 2;               // US
inline constexpr u16 kInterrupt = 1 << 3;          // I: an interrupt, not a memory request
inline constexpr u16 kPresent = 1 << 4;            // PR: the page was present
inline constexpr u16 kWrite = 1 << 5;              // RW: a write
inline constexpr u16 kPermission = 1 << 6;         // PE: permission denied
inline constexpr u16 kReservedBit = 1 << 7;        // RZ: reserved bit or bad level encoding
inline constexpr u16 kTranslation = 1 << 8;        // TR: a translation (ATS) request
inline constexpr u32 kHardwareErrorTypeShift = 9;  // Type, bits 10:9 (58:57)
}  // namespace event_flag

enum class HardwareErrorType : u8 {
    kReserved = 0,
    kMasterAbort = 1,
    kTargetAbort = 2,
    kDataError = 3,
};

struct Event {
    u8 code = 0;  // EventCode, raw (unknown codes are kept)
    DeviceId device;
    u16 domain_id = 0;  // IO_PAGE_FAULT, PAGE_TAB_HARDWARE_ERROR (with GN=0)
    u32 pasid = 0;      // the same 16 bits plus PASID[19:16], for guest requests
    u64 address = 0;    // the request's address, or the table/command address the event names
    u16 flags = 0;      // event_flag bits
    u64 raw[2] = {};

    bool has(u16 flag) const { return (flags & flag) != 0; }
    HardwareErrorType hardware_error_type() const {
        return static_cast<HardwareErrorType>((flags >> event_flag::kHardwareErrorTypeShift) & 3);
    }
    // INVALID_DEVICE_REQUEST: the reason, bits 59:57.
    u8 request_type() const { return static_cast<u8>((flags >> 9) & 7); }
};

Event decode_event(const EventLogEntry& entry);
const char* event_name(u8 code);

// One line, for example
//   IO_PAGE_FAULT device 00:04.0 domain 3 address 0x7000000 write, page not present
inline constexpr usize kEventTextCapacity = 160;
void format_event(FormatOutput& output, const Event& event);
FixedString<kEventTextCapacity> format_event(const Event& event);

// Builds an event log entry (for tests and models of the unit).
EventLogEntry make_event(EventCode code, DeviceId device, u16 domain_or_pasid, u64 address,
                         u16 flags);

}  // namespace relay::amd_vi
