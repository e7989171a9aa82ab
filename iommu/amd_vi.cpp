#include "iommu/amd_vi.hpp"

namespace relay::amd_vi {

namespace {

constexpr u64 kPhysicalLimit = 1ull << 52;
constexpr u32 kRingLengthShift = 56;  // ComLen / EventLen, bits 59:56

constexpr u32 log2_exact(u64 value) {
    u32 shift = 0;
    while ((1ull << shift) < value) {
        ++shift;
    }
    return shift;
}

Command make_command(CommandOpcode opcode, u64 word0, u64 word1) {
    Command command;
    command.words[0] = word0 | (static_cast<u64>(opcode) << 60);
    command.words[1] = word1;
    return command;
}

// The all-pages address of INVALIDATE_IOMMU_PAGES (§2.4.3): with S=1 the lowest clear bit
// from 12 up is bit 63, so the size is 2^64.
constexpr u64 kAllPagesAddress = 0x7FFF'FFFF'FFFF'F000ull;
constexpr u64 kInvalidateSize = 1ull << 0;  // S
constexpr u64 kInvalidatePde = 1ull << 1;   // PDE

}  // namespace

const char* mmio::register_name(u32 offset) {
    switch (offset) {
        case kDeviceTableBase:
            return "device table base";
        case kCommandBufferBase:
            return "command buffer base";
        case kEventLogBase:
            return "event log base";
        case kControl:
            return "control";
        case kExclusionBase:
            return "exclusion base";
        case kExclusionLimit:
            return "exclusion limit";
        case kExtendedFeatures:
            return "extended features";
        case kPprLogBase:
            return "PPR log base";
        case kCommandHead:
            return "command buffer head";
        case kCommandTail:
            return "command buffer tail";
        case kEventHead:
            return "event log head";
        case kEventTail:
            return "event log tail";
        case kStatus:
            return "status";
        case kPprHead:
            return "PPR log head";
        case kPprTail:
            return "PPR log tail";
        default:
            return "unknown register";
    }
}

Result<u64> encode_device_table_register(DeviceTableRegister table) {
    if (!table.base.is_aligned(kPageSize4K) || table.base.raw() >= kPhysicalLimit) {
        return make_error(ErrorCode::kInvalidArgument,
                          "device table base {} is not 4 KiB aligned below 2^52", table.base);
    }
    if (table.entries == 0 || table.entries % kDeviceTableEntriesPerPage != 0 ||
        table.entries > kMaxDeviceTableEntries) {
        return make_error(ErrorCode::kInvalidArgument,
                          "device table of {} entries: need a multiple of {} up to {}",
                          table.entries, kDeviceTableEntriesPerPage, kMaxDeviceTableEntries);
    }
    // Size, bits 8:0: the table's length in 4 KiB pages, minus one.
    return table.base.raw() | (table.entries / kDeviceTableEntriesPerPage - 1);
}

DeviceTableRegister decode_device_table_register(u64 value) {
    DeviceTableRegister table;
    table.base = HostPhysAddr(value & dte::kRootMask);
    table.entries = static_cast<u32>(((value & 0x1FF) + 1) * kDeviceTableEntriesPerPage);
    return table;
}

Result<u64> encode_ring_register(RingRegister ring, const char* what) {
    if (!ring.base.is_aligned(kPageSize4K) || ring.base.raw() >= kPhysicalLimit) {
        return make_error(ErrorCode::kInvalidArgument, "{} base {} is not 4 KiB aligned below 2^52",
                          what, ring.base);
    }
    if (!is_power_of_two(ring.entries) || ring.entries < kMinRingEntries ||
        ring.entries > kMaxRingEntries) {
        return make_error(ErrorCode::kInvalidArgument,
                          "{} of {} entries: need a power of two from {} to {}", what, ring.entries,
                          kMinRingEntries, kMaxRingEntries);
    }
    return ring.base.raw() | (static_cast<u64>(log2_exact(ring.entries)) << kRingLengthShift);
}

RingRegister decode_ring_register(u64 value) {
    RingRegister ring;
    ring.base = HostPhysAddr(value & dte::kRootMask);
    ring.entries = 1u << ((value >> kRingLengthShift) & 0xF);
    return ring;
}

// ---------------------------------------------------------------------------------------

Result<DeviceTableEntry> encode_device_table_entry(const DeviceTableEntryFields& f) {
    if (f.mode > 6) {
        return make_error(ErrorCode::kInvalidArgument,
                          "device table entry mode {} is not 0 (untranslated) to 6 levels", f.mode);
    }
    if (!f.page_table_root.is_aligned(kPageSize4K) || f.page_table_root.raw() >= kPhysicalLimit) {
        return make_error(ErrorCode::kInvalidArgument,
                          "page table root {} is not 4 KiB aligned below 2^52", f.page_table_root);
    }
    if (f.mode != 0 && f.page_table_root.raw() == 0) {
        return make_error(ErrorCode::kInvalidArgument,
                          "device table entry with {} levels has no page table root", f.mode);
    }
    if (f.io_control > 2 || f.system_management > 3) {
        return make_error(ErrorCode::kInvalidArgument,
                          "device table entry IoCtl {} / SysMgt {} out of range", f.io_control,
                          f.system_management);
    }
    if (f.interrupt_control != InterruptControl::kAbort &&
        f.interrupt_control != InterruptControl::kForwardUnmapped) {
        return make_error(ErrorCode::kInvalidArgument,
                          "device table entry IntCtl {}: only 0 (abort) and 1 (forward) need no "
                          "interrupt table, and Relay keeps none",
                          static_cast<u8>(f.interrupt_control));
    }
    DeviceTableEntry e;
    e.words[0] = (f.valid ? dte::kValid : 0) | (f.translation_valid ? dte::kTranslationValid : 0) |
                 (static_cast<u64>(f.mode) << dte::kModeShift) | f.page_table_root.raw() |
                 (f.read ? dte::kIoRead : 0) | (f.write ? dte::kIoWrite : 0);
    e.words[1] = f.domain_id | (f.iotlb_enable ? dte::kIotlbEnable : 0) |
                 (f.suppress_faults ? dte::kSuppressFaults : 0) |
                 (f.suppress_all_faults ? dte::kSuppressAllFaults : 0) |
                 (static_cast<u64>(f.io_control) << dte::kIoControlShift) |
                 (f.cache_hint ? dte::kCacheHint : 0) | (f.snoop_disable ? dte::kSnoopDisable : 0) |
                 (f.allow_exclusion ? dte::kAllowExclusion : 0) |
                 (static_cast<u64>(f.system_management) << dte::kSystemManagementShift);
    e.words[2] = (f.interrupt_map_valid ? dte::kInterruptMapValid : 0) |
                 (static_cast<u64>(f.interrupt_control) << dte::kInterruptControlShift) |
                 (f.init_pass ? dte::kInitPass : 0) | (f.ext_int_pass ? dte::kExtIntPass : 0) |
                 (f.nmi_pass ? dte::kNmiPass : 0) | (f.lint0_pass ? dte::kLint0Pass : 0) |
                 (f.lint1_pass ? dte::kLint1Pass : 0);
    return e;
}

Result<DeviceTableEntryFields> decode_device_table_entry(const DeviceTableEntry& e) {
    if ((e.words[0] & dte::kWord0Foreign) != 0) {
        return make_error(ErrorCode::kUnsupported,
                          "device table entry word 0 {:#x} has bits {:#x} Relay never sets "
                          "(guest translation, PPR or reserved)",
                          e.words[0], e.words[0] & dte::kWord0Foreign);
    }
    if ((e.words[1] & dte::kWord1Foreign) != 0) {
        return make_error(ErrorCode::kUnsupported,
                          "device table entry word 1 {:#x} has bits {:#x} Relay never sets "
                          "(guest CR3 or reserved)",
                          e.words[1], e.words[1] & dte::kWord1Foreign);
    }
    if ((e.words[2] & dte::kWord2Foreign) != 0) {
        return make_error(ErrorCode::kUnsupported,
                          "device table entry word 2 {:#x} has bits {:#x} Relay never sets "
                          "(interrupt table or reserved)",
                          e.words[2], e.words[2] & dte::kWord2Foreign);
    }
    if (e.words[3] != 0) {
        return make_error(ErrorCode::kUnsupported,
                          "device table entry word 3 {:#x} is not zero (reserved)", e.words[3]);
    }
    DeviceTableEntryFields f;
    u64 w0 = e.words[0];
    u64 w1 = e.words[1];
    f.valid = (w0 & dte::kValid) != 0;
    f.translation_valid = (w0 & dte::kTranslationValid) != 0;
    f.mode = static_cast<u8>((w0 & dte::kModeMask) >> dte::kModeShift);
    f.page_table_root = HostPhysAddr(w0 & dte::kRootMask);
    f.read = (w0 & dte::kIoRead) != 0;
    f.write = (w0 & dte::kIoWrite) != 0;
    f.domain_id = static_cast<u16>(w1 & dte::kDomainIdMask);
    f.iotlb_enable = (w1 & dte::kIotlbEnable) != 0;
    f.suppress_faults = (w1 & dte::kSuppressFaults) != 0;
    f.suppress_all_faults = (w1 & dte::kSuppressAllFaults) != 0;
    f.io_control = static_cast<u8>((w1 >> dte::kIoControlShift) & 3);
    f.cache_hint = (w1 & dte::kCacheHint) != 0;
    f.snoop_disable = (w1 & dte::kSnoopDisable) != 0;
    f.allow_exclusion = (w1 & dte::kAllowExclusion) != 0;
    f.system_management = static_cast<u8>((w1 >> dte::kSystemManagementShift) & 3);
    u64 w2 = e.words[2];
    f.interrupt_map_valid = (w2 & dte::kInterruptMapValid) != 0;
    f.interrupt_control = static_cast<InterruptControl>((w2 >> dte::kInterruptControlShift) & 3);
    f.init_pass = (w2 & dte::kInitPass) != 0;
    f.ext_int_pass = (w2 & dte::kExtIntPass) != 0;
    f.nmi_pass = (w2 & dte::kNmiPass) != 0;
    f.lint0_pass = (w2 & dte::kLint0Pass) != 0;
    f.lint1_pass = (w2 & dte::kLint1Pass) != 0;
    if (f.interrupt_control != InterruptControl::kAbort &&
        f.interrupt_control != InterruptControl::kForwardUnmapped) {
        return make_error(ErrorCode::kUnsupported,
                          "device table entry IntCtl {} ({}) needs an interrupt table, and the "
                          "entry has none",
                          static_cast<u8>(f.interrupt_control),
                          f.interrupt_control == InterruptControl::kRemap ? "remap" : "reserved");
    }
    if (f.mode == 7) {
        return make_error(ErrorCode::kCorrupt, "device table entry mode 7 is reserved");
    }
    return f;
}

DeviceTableEntry blocked_device_table_entry(u8 system_management) {
    DeviceTableEntry e;
    e.words[0] = dte::kValid | dte::kTranslationValid;
    e.words[1] = static_cast<u64>(system_management & 3) << dte::kSystemManagementShift;
    e.words[2] = dte::kInterruptsRefused;
    return e;
}

Result<DeviceTableEntry> translated_device_table_entry(u16 domain_id, HostPhysAddr root, u8 levels,
                                                       bool read, bool write) {
    if (levels < 1 || levels > 6) {
        return make_error(ErrorCode::kInvalidArgument,
                          "I/O page table of {} levels: AMD-Vi walks 1 to 6", levels);
    }
    DeviceTableEntryFields f;
    f.valid = true;
    f.translation_valid = true;
    f.mode = levels;
    f.page_table_root = root;
    f.read = read;
    f.write = write;
    f.domain_id = domain_id;
    f.interrupt_map_valid = true;
    f.interrupt_control = InterruptControl::kAbort;
    return encode_device_table_entry(f);
}

// ---------------------------------------------------------------------------------------

const char* command_name(u8 opcode) {
    switch (static_cast<CommandOpcode>(opcode)) {
        case CommandOpcode::kCompletionWait:
            return "COMPLETION_WAIT";
        case CommandOpcode::kInvalidateDeviceTableEntry:
            return "INVALIDATE_DEVTAB_ENTRY";
        case CommandOpcode::kInvalidateIommuPages:
            return "INVALIDATE_IOMMU_PAGES";
        case CommandOpcode::kInvalidateIotlbPages:
            return "INVALIDATE_IOTLB_PAGES";
        case CommandOpcode::kInvalidateInterruptTable:
            return "INVALIDATE_INTERRUPT_TABLE";
        case CommandOpcode::kPrefetchIommuPages:
            return "PREFETCH_IOMMU_PAGES";
        case CommandOpcode::kCompletePprRequest:
            return "COMPLETE_PPR_REQUEST";
        case CommandOpcode::kInvalidateIommuAll:
            return "INVALIDATE_IOMMU_ALL";
    }
    return "UNKNOWN_COMMAND";
}

Command completion_wait(HostPhysAddr store, u64 data, bool interrupt) {
    // S (bit 0) = store, I (bit 1) = interrupt; Store Address[51:3] in bits 51:3.
    u64 word0 = (store.raw() & 0x000F'FFFF'FFFF'FFF8ull) | 1 | (interrupt ? 2 : 0);
    return make_command(CommandOpcode::kCompletionWait, word0, data);
}

Command invalidate_device_table_entry(DeviceId device) {
    return make_command(CommandOpcode::kInvalidateDeviceTableEntry, device.raw, 0);
}

Command invalidate_iommu_pages_all(u16 domain_id) {
    return make_command(CommandOpcode::kInvalidateIommuPages, static_cast<u64>(domain_id) << 32,
                        kAllPagesAddress | kInvalidateSize | kInvalidatePde);
}

Command invalidate_iommu_pages(u16 domain_id, u64 address, u64 size) {
    if (size == 0) {
        return invalidate_iommu_pages_all(domain_id);
    }
    u64 first = align_down(address, kPageSize4K);
    u64 last = address + (size - 1);
    if (last < address) {
        return invalidate_iommu_pages_all(domain_id);
    }
    last |= kPageSize4K - 1;
    u64 word0 = static_cast<u64>(domain_id) << 32;
    if (last - first == kPageSize4K - 1) {
        return make_command(CommandOpcode::kInvalidateIommuPages, word0, first | kInvalidatePde);
    }
    // The smallest aligned block of 2^shift bytes holding both ends.
    u32 shift = 13;
    while (shift < 64 && (first >> shift) != (last >> shift)) {
        ++shift;
    }
    if (shift >= 63) {
        return invalidate_iommu_pages_all(domain_id);
    }
    u64 block = 1ull << shift;
    u64 base = first & ~(block - 1);
    // Bits 12..shift-2 set, bit shift-1 clear: the size is 2^shift.
    u64 encoded = base | (((block >> 1) - 1) & ~(kPageSize4K - 1));
    return make_command(CommandOpcode::kInvalidateIommuPages, word0,
                        encoded | kInvalidateSize | kInvalidatePde);
}

PageInvalidation decode_invalidate_iommu_pages(const Command& command) {
    PageInvalidation p;
    p.domain_id = static_cast<u16>(command.words[0] >> 32);
    u64 w1 = command.words[1];
    p.page_directories = (w1 & kInvalidatePde) != 0;
    u64 address = w1 & ~(kPageSize4K - 1);
    if ((w1 & kInvalidateSize) == 0) {
        p.first = address;
        p.last = address + (kPageSize4K - 1);
        return p;
    }
    u32 zero = 12;
    while (zero < 64 && ((address >> zero) & 1) != 0) {
        ++zero;
    }
    if (zero >= 63) {
        p.first = 0;
        p.last = ~0ull;
        return p;
    }
    u64 block = 1ull << (zero + 1);
    p.first = address & ~(block - 1);
    p.last = p.first + (block - 1);
    return p;
}

Command invalidate_interrupt_table(DeviceId device) {
    return make_command(CommandOpcode::kInvalidateInterruptTable, device.raw, 0);
}

Command invalidate_iommu_all() {
    return make_command(CommandOpcode::kInvalidateIommuAll, 0, 0);
}

// ---------------------------------------------------------------------------------------

const char* event_name(u8 code) {
    switch (static_cast<EventCode>(code)) {
        case EventCode::kIllegalDeviceTableEntry:
            return "ILLEGAL_DEV_TABLE_ENTRY";
        case EventCode::kIoPageFault:
            return "IO_PAGE_FAULT";
        case EventCode::kDeviceTableHardwareError:
            return "DEV_TAB_HARDWARE_ERROR";
        case EventCode::kPageTableHardwareError:
            return "PAGE_TAB_HARDWARE_ERROR";
        case EventCode::kIllegalCommandError:
            return "ILLEGAL_COMMAND_ERROR";
        case EventCode::kCommandHardwareError:
            return "COMMAND_HARDWARE_ERROR";
        case EventCode::kIotlbInvalidationTimeout:
            return "IOTLB_INV_TIMEOUT";
        case EventCode::kInvalidDeviceRequest:
            return "INVALID_DEVICE_REQUEST";
        case EventCode::kInvalidPprRequest:
            return "INVALID_PPR_REQUEST";
    }
    return nullptr;
}

Event decode_event(const EventLogEntry& entry) {
    Event e;
    u64 w0 = entry.words[0];
    e.raw[0] = w0;
    e.raw[1] = entry.words[1];
    e.code = static_cast<u8>(w0 >> 60);
    e.flags = static_cast<u16>((w0 >> 48) & 0xFFF);
    e.address = entry.words[1];
    switch (static_cast<EventCode>(e.code)) {
        case EventCode::kIllegalCommandError:
        case EventCode::kCommandHardwareError:
            // No device: the address is that of the command (or of the failed access).
            break;
        case EventCode::kIotlbInvalidationTimeout:
            e.device = DeviceId(static_cast<u16>(w0));
            e.address = entry.words[1] & ~0xFull;  // Address[63:4] of the command
            break;
        default:
            e.device = DeviceId(static_cast<u16>(w0));
            e.domain_id = static_cast<u16>(w0 >> 32);
            e.pasid = (static_cast<u32>((w0 >> 16) & 0xF) << 16) | e.domain_id;
            break;
    }
    return e;
}

EventLogEntry make_event(EventCode code, DeviceId device, u16 domain_or_pasid, u64 address,
                         u16 flags) {
    EventLogEntry entry;
    entry.words[0] = device.raw | (static_cast<u64>(domain_or_pasid) << 32) |
                     (static_cast<u64>(flags & 0xFFF) << 48) | (static_cast<u64>(code) << 60);
    entry.words[1] = address;
    return entry;
}

namespace {

const char* hardware_error_text(HardwareErrorType type) {
    switch (type) {
        case HardwareErrorType::kMasterAbort:
            return "master abort";
        case HardwareErrorType::kTargetAbort:
            return "target abort";
        case HardwareErrorType::kDataError:
            return "data error";
        case HardwareErrorType::kReserved:
            break;
    }
    return "reserved error type";
}

// "read"/"write"/"interrupt request", then the optional qualifiers.
void format_access(FormatOutput& out, const Event& e) {
    if (e.has(event_flag::kInterrupt)) {
        format(out, "interrupt request");
    } else {
        format(out, e.has(event_flag::kWrite) ? "write" : "read");
    }
}

void format_qualifiers(FormatOutput& out, const Event& e) {
    if (e.has(event_flag::kTranslation)) {
        format(out, ", translation request");
    }
    if (e.has(event_flag::kUser)) {
        format(out, ", user");
    }
    if (e.has(event_flag::kNoExecute)) {
        format(out, ", execute");
    }
    if (e.has(event_flag::kGuest)) {
        format(out, ", guest pasid {:#x}", e.pasid);
    }
}

}  // namespace

void format_event(FormatOutput& out, const Event& e) {
    auto device = e.device.text();
    switch (static_cast<EventCode>(e.code)) {
        case EventCode::kIoPageFault:
            format(out, "IO_PAGE_FAULT device {} domain {} address {:#x} ", device.view(),
                   e.domain_id, e.address);
            format_access(out, e);
            if (!e.has(event_flag::kPresent)) {
                format(out, ", page not present");
            } else if (e.has(event_flag::kReservedBit)) {
                format(out, ", reserved bit set or bad level");
            } else if (e.has(event_flag::kPermission)) {
                format(out, ", permission denied");
            } else {
                format(out, ", page present");
            }
            format_qualifiers(out, e);
            return;
        case EventCode::kIllegalDeviceTableEntry:
            format(out, "ILLEGAL_DEV_TABLE_ENTRY device {} address {:#x} ", device.view(),
                   e.address);
            format_access(out, e);
            if (e.has(event_flag::kReservedBit)) {
                format(out, ", reserved bit set or bad level");
            }
            format_qualifiers(out, e);
            return;
        case EventCode::kDeviceTableHardwareError:
            format(out, "DEV_TAB_HARDWARE_ERROR device {} address {:#x} {} ", device.view(),
                   e.address, hardware_error_text(e.hardware_error_type()));
            format_access(out, e);
            format_qualifiers(out, e);
            return;
        case EventCode::kPageTableHardwareError:
            format(out, "PAGE_TAB_HARDWARE_ERROR device {} domain {} address {:#x} {} ",
                   device.view(), e.domain_id, e.address,
                   hardware_error_text(e.hardware_error_type()));
            format_access(out, e);
            format_qualifiers(out, e);
            return;
        case EventCode::kIllegalCommandError:
            format(out, "ILLEGAL_COMMAND_ERROR command at {:#x}", e.address);
            return;
        case EventCode::kCommandHardwareError:
            format(out, "COMMAND_HARDWARE_ERROR address {:#x} {}", e.address,
                   hardware_error_text(e.hardware_error_type()));
            return;
        case EventCode::kIotlbInvalidationTimeout:
            format(out, "IOTLB_INV_TIMEOUT device {} command at {:#x}", device.view(), e.address);
            return;
        case EventCode::kInvalidDeviceRequest:
            format(out, "INVALID_DEVICE_REQUEST device {} address {:#x} type {}", device.view(),
                   e.address, e.request_type());
            format_qualifiers(out, e);
            return;
        case EventCode::kInvalidPprRequest:
            format(out, "INVALID_PPR_REQUEST device {} address {:#x}", device.view(), e.address);
            format_qualifiers(out, e);
            return;
    }
    format(out, "EVENT_{:#x} {:#018x} {:#018x}", e.code, e.raw[0], e.raw[1]);
}

FixedString<kEventTextCapacity> format_event(const Event& event) {
    char buffer[kEventTextCapacity + 1];
    FormatBuffer output(buffer, sizeof(buffer));
    format_event(output, event);
    return FixedString<kEventTextCapacity>::formatted("{}", output.view());
}

}  // namespace relay::amd_vi
