#include "iommu/amd_vi_driver.hpp"

namespace relay::amd_vi {

namespace {

constexpr u64 kRunning =
    control::kIommuEnable | control::kCommandBufferEnable | control::kEventLogEnable;
// A blocked entry's first word (V=1, TV=1, Mode=0, IR=IW=0): the intermediate state of an
// entry update that changes more than its first word.
constexpr u64 kBlockedWord0 = dte::kValid | dte::kTranslationValid;
// The control register's other bits (§3.4.3): Coherent always, so that the unit's reads of
// the device table, command buffer and completion store snoop the CPUs' caches (Relay
// writes them through ordinary write-back memory and does not flush caches); the bus
// attributes the IVHD flags ask for (as Linux does).
u64 control_bits(u8 ivhd_flags) {
    u64 bits = control::kCoherent;
    bits |= (ivhd_flags & 0x01) != 0 ? control::kHtTunnelEnable : 0;
    bits |= (ivhd_flags & 0x02) != 0 ? control::kPassPostedWrite : 0;
    bits |= (ivhd_flags & 0x04) != 0 ? control::kResponsePassPostedWrite : 0;
    bits |= (ivhd_flags & 0x08) != 0 ? control::kIsochronous : 0;
    return bits;
}

// How long an event log entry may read as zero after the tail moved past it (the unit may
// advance the tail before the entry's write lands).
constexpr u64 kEventSettleNs = 1'000'000;
constexpr usize kEventBatch = 16;

struct Areas {
    HostPhysRange ranges[4];
    const char* names[4] = {"device table", "command buffer", "event log", "completion store"};
};

Areas areas_of(const AmdViConfig& c) {
    Areas a;
    a.ranges[0] = HostPhysRange::unchecked(
        c.device_table.base, static_cast<u64>(c.device_table.entries) * kDeviceTableEntrySize);
    a.ranges[1] = HostPhysRange::unchecked(
        c.command_buffer.base, static_cast<u64>(c.command_buffer.entries) * kCommandSize);
    a.ranges[2] = HostPhysRange::unchecked(c.event_log.base,
                                           static_cast<u64>(c.event_log.entries) * kEventSize);
    a.ranges[3] = HostPhysRange::unchecked(c.completion_store, 8);
    return a;
}

Status check_config(const AmdViConfig& c) {
    RELAY_TRY(encode_device_table_register(c.device_table));
    RELAY_TRY(encode_ring_register(c.command_buffer, "command buffer"));
    RELAY_TRY(encode_ring_register(c.event_log, "event log"));
    if (c.completion_store.raw() == 0 || !c.completion_store.is_aligned(8) ||
        c.completion_store.raw() >= (1ull << 52)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "completion store {} is not an 8-byte aligned address below 2^52",
                          c.completion_store);
    }
    if (c.timeout_ns == 0) {
        return make_error(ErrorCode::kInvalidArgument, "AMD-Vi timeout of 0 ns");
    }
    Areas a = areas_of(c);
    for (usize i = 0; i < 4; ++i) {
        for (usize j = i + 1; j < 4; ++j) {
            if (a.ranges[i].overlaps(a.ranges[j])) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "AMD-Vi {} at {} + {:#x} overlaps the {} at {} + {:#x}",
                                  a.names[i], a.ranges[i].base(), a.ranges[i].size(), a.names[j],
                                  a.ranges[j].base(), a.ranges[j].size());
            }
        }
    }
    return ok_status();
}

iommu::EventKind kind_of(u8 code) {
    switch (static_cast<EventCode>(code)) {
        case EventCode::kIoPageFault:
            return iommu::EventKind::kDmaFault;
        case EventCode::kIllegalDeviceTableEntry:
        case EventCode::kDeviceTableHardwareError:
            return iommu::EventKind::kDeviceTableError;
        case EventCode::kPageTableHardwareError:
        case EventCode::kCommandHardwareError:
            return iommu::EventKind::kHardwareError;
        case EventCode::kIllegalCommandError:
        case EventCode::kIotlbInvalidationTimeout:
            return iommu::EventKind::kCommandError;
        default:
            return iommu::EventKind::kOther;
    }
}

}  // namespace

Status AmdViDriver::check_running() const {
    if (!running_) {
        return make_error(ErrorCode::kBusy, "AMD-Vi unit is not initialised or adopted");
    }
    return ok_status();
}

Status AmdViDriver::check_device(DeviceId device) const {
    if (device.raw >= config_.device_table.entries) {
        return make_error(ErrorCode::kOutOfRange,
                          "device {} (id {:#x}) is beyond the {}-entry device table",
                          device.text().view(), device.raw, config_.device_table.entries);
    }
    return ok_status();
}

// Disables the unit (nothing runs on it yet at first boot), blocks every device, programs
// the tables and rings, enables the command buffer and event log, then translation, and
// flushes whatever the unit cached before.
Status AmdViDriver::init(const AmdViConfig& config) {
    RELAY_TRY(check_config(config));
    running_ = false;
    config_ = config;
    extended_features_ = registers_->read(mmio::kExtendedFeatures);
    if (registers_->read(mmio::kControl) != 0) {
        registers_->write(mmio::kControl, 0);
    }

    DeviceTableEntry blocked = blocked_device_table_entry();
    for (u32 id = 0; id < config.device_table.entries; ++id) {
        HostPhysAddr entry = entry_address(DeviceId(static_cast<u16>(id)));
        for (usize w = 0; w < 4; ++w) {
            memory_->write(entry + w * 8, blocked.words[w]);
        }
    }
    memory_->write(config.completion_store, 0);

    RELAY_TRY_ASSIGN(device_table, encode_device_table_register(config.device_table));
    RELAY_TRY_ASSIGN(commands, encode_ring_register(config.command_buffer, "command buffer"));
    RELAY_TRY_ASSIGN(events, encode_ring_register(config.event_log, "event log"));
    registers_->write(mmio::kDeviceTableBase, device_table);
    registers_->write(mmio::kCommandBufferBase, commands);
    registers_->write(mmio::kCommandHead, 0);
    registers_->write(mmio::kCommandTail, 0);
    registers_->write(mmio::kEventLogBase, events);
    registers_->write(mmio::kEventHead, 0);
    registers_->write(mmio::kEventTail, 0);
    u64 bits = control_bits(config.ivhd_flags);
    registers_->write(mmio::kControl,
                      bits | control::kCommandBufferEnable | control::kEventLogEnable);
    registers_->write(mmio::kControl, bits | kRunning);

    command_tail_ = 0;
    event_head_ = 0;
    events_ahead_of_tail_ = false;
    sequence_ = 0;
    running_ = true;
    Status flushed = invalidate_everything();
    if (!flushed.ok()) {
        flushed.error().prefix("AMD-Vi init: ");
        return flushed;
    }
    return ok_status();
}

// Checks the unit runs with exactly the stream's tables and rings, lets the commands the
// previous build queued finish, and continues from its ring positions and completion
// sequence. Reads registers and memory; writes neither a base nor the control register.
Status AmdViDriver::adopt(const iommu::IommuState& state, u64 timeout_ns) {
    running_ = false;
    if (state.vendor != iommu::Vendor::kAmdVi) {
        return make_error(ErrorCode::kInvalidArgument,
                          "IOMMU state of vendor {} given to the AMD-Vi driver",
                          static_cast<u8>(state.vendor));
    }
    AmdViConfig c;
    c.unit = state.unit;
    c.mmio_base = state.register_base;
    c.device_table = {state.root_table.base(),
                      static_cast<u32>(state.root_table.size() / kDeviceTableEntrySize)};
    c.command_buffer = {state.command_queue.base(),
                        static_cast<u32>(state.command_queue.size() / kCommandSize)};
    c.event_log = {state.event_log.base(), static_cast<u32>(state.event_log.size() / kEventSize)};
    c.completion_store = state.completion_store.base();
    c.timeout_ns = timeout_ns;
    RELAY_TRY(check_config(c));

    u64 control_value = registers_->read(mmio::kControl);
    if ((control_value & kRunning) != kRunning) {
        return make_error(ErrorCode::kCorrupt,
                          "AMD-Vi control {:#x}: the unit is not running (IommuEn, CmdBufEn and "
                          "EventLogEn expected), nothing to adopt",
                          control_value);
    }
    struct Expected {
        u32 offset;
        u64 value;
    };
    RELAY_TRY_ASSIGN(device_table, encode_device_table_register(c.device_table));
    RELAY_TRY_ASSIGN(commands, encode_ring_register(c.command_buffer, "command buffer"));
    RELAY_TRY_ASSIGN(events, encode_ring_register(c.event_log, "event log"));
    const Expected expected[] = {{mmio::kDeviceTableBase, device_table},
                                 {mmio::kCommandBufferBase, commands},
                                 {mmio::kEventLogBase, events}};
    for (const Expected& e : expected) {
        u64 found = registers_->read(e.offset);
        if (found != e.value) {
            return make_error(ErrorCode::kCorrupt,
                              "AMD-Vi {} register holds {:#x}, the stream says {:#x}",
                              mmio::register_name(e.offset), found, e.value);
        }
    }
    u32 tail = static_cast<u32>(registers_->read(mmio::kCommandTail) & kRingPointerMask);
    u32 event_head = static_cast<u32>(registers_->read(mmio::kEventHead) & kRingPointerMask);
    if (tail >= c.command_buffer.entries * kCommandSize ||
        event_head >= c.event_log.entries * kEventSize) {
        return make_error(ErrorCode::kCorrupt,
                          "AMD-Vi command tail {:#x} or event head {:#x} lies beyond its ring",
                          tail, event_head);
    }

    config_ = c;
    extended_features_ = registers_->read(mmio::kExtendedFeatures);
    command_tail_ = tail;
    event_head_ = event_head;
    // Between head and tail only cleared entries: the previous build read them by content
    // ahead of a tail register that never moved (QEMU 7.2; drain_events()).
    u32 event_tail = static_cast<u32>(registers_->read(mmio::kEventTail) & kRingPointerMask);
    bool all_clear = event_tail < c.event_log.entries * kEventSize;
    for (u32 at = event_head; all_clear && at != event_tail;
         at = (at + kEventSize) % (c.event_log.entries * kEventSize)) {
        all_clear = memory_->read(c.event_log.base + at) == 0 &&
                    memory_->read(c.event_log.base + at + 8) == 0;
    }
    events_ahead_of_tail_ = event_head != event_tail && all_clear;
    u64 stored = memory_->read(c.completion_store);
    // The larger: a wait the previous build queued may still store its number later.
    sequence_ = stored > state.completion_sequence ? stored : state.completion_sequence;
    u64 start = clock_->now_ns();
    while (command_head() != command_tail_) {
        if (clock_->now_ns() - start >= timeout_ns) {
            return make_error(ErrorCode::kBusy,
                              "AMD-Vi commands queued by the previous build did not complete in "
                              "{} ns: head {:#x}, tail {:#x}",
                              timeout_ns, command_head(), command_tail_);
        }
    }
    running_ = true;
    Status alive = wait_for_completion();
    if (!alive.ok()) {
        running_ = false;
        alive.error().prefix("AMD-Vi adopt: ");
        return alive;
    }
    return ok_status();
}

// Builds before interrupt remapping left word 2 of their entries zero (IV=0): interrupt
// requests passed. Setting it is one quadword store per entry, from "passes" to
// "refused", so no half-written entry is ever visible; then one flush for all of them.
// A build that refuses interrupts wrote every entry so at first boot, and entry 0 with
// them, so entry 0 tells which kind of build made the table: only an older one's is
// scanned (65,536 entries, milliseconds of blackout under TCG).
Status AmdViDriver::finish_adoption(u8 ivhd_flags) {
    RELAY_TRY(check_running());
    interrupts_closed_at_adoption_ = 0;
    control_bits_added_ = 0;
    u64 control_value = registers_->read(mmio::kControl);
    u64 wanted = control_bits(ivhd_flags);
    if ((control_value & wanted) != wanted) {
        // The enables stay as they are: translation, commands and events run on.
        control_bits_added_ = wanted & ~control_value;
        registers_->write(mmio::kControl, control_value | wanted);
    }
    if (memory_->read(entry_address(DeviceId(0)) + 16) == dte::kInterruptsRefused) {
        return ok_status();
    }
    for (u32 id = 0; id < config_.device_table.entries; ++id) {
        HostPhysAddr entry = entry_address(DeviceId(static_cast<u16>(id)));
        if ((memory_->read(entry) & dte::kValid) != 0 && memory_->read(entry + 16) == 0) {
            memory_->write(entry + 16, dte::kInterruptsRefused);
            ++interrupts_closed_at_adoption_;
        }
    }
    if (interrupts_closed_at_adoption_ == 0) {
        return ok_status();
    }
    Status flushed = invalidate_everything();
    if (!flushed.ok()) {
        flushed.error().prefix("AMD-Vi: after refusing the interrupts of {} entries: ",
                               interrupts_closed_at_adoption_);
    }
    return flushed;
}

u32 AmdViDriver::command_head() {
    // QEMU 7.2 stores the head before wrapping it, so it may read as the ring size.
    return static_cast<u32>(registers_->read(mmio::kCommandHead) & kRingPointerMask) %
           command_ring_bytes();
}

Status AmdViDriver::wait_for_room(u32 needed_bytes) {
    u32 size = command_ring_bytes();
    u64 start = clock_->now_ns();
    for (;;) {
        u32 head = command_head();
        u32 used = (command_tail_ + size - head) % size;
        // One slot stays empty: head == tail means empty.
        if (size - used - kCommandSize >= needed_bytes) {
            return ok_status();
        }
        u64 waited = clock_->now_ns() - start;
        if (waited >= config_.timeout_ns) {
            return make_error(ErrorCode::kBusy,
                              "AMD-Vi command buffer full: head {:#x} did not move in {} ns "
                              "(tail {:#x}, status {:#x})",
                              head, waited, command_tail_, registers_->read(mmio::kStatus));
        }
    }
}

Status AmdViDriver::submit(const Command* commands, usize count) {
    RELAY_TRY(check_running());
    u32 size = command_ring_bytes();
    bool published = true;
    u32 head = command_head();  // re-read only when the ring looks full
    for (usize i = 0; i < count; ++i) {
        if ((command_tail_ + kCommandSize) % size == head) {
            head = command_head();
        }
        if ((command_tail_ + kCommandSize) % size == head) {
            // Full: let the unit see what is queued, then wait for it to make room.
            registers_->write(mmio::kCommandTail, command_tail_);
            published = true;
            RELAY_TRY(wait_for_room(kCommandSize));
            head = command_head();
        }
        HostPhysAddr slot = config_.command_buffer.base + command_tail_;
        memory_->write(slot, commands[i].words[0]);
        memory_->write(slot + 8, commands[i].words[1]);
        command_tail_ = (command_tail_ + kCommandSize) % size;
        published = false;
    }
    if (!published) {
        registers_->write(mmio::kCommandTail, command_tail_);
    }
    return ok_status();
}

Status AmdViDriver::wait_for_completion() {
    RELAY_TRY(check_running());
    u64 expected = ++sequence_;
    Command wait = completion_wait(config_.completion_store, expected);
    RELAY_TRY(submit(&wait, 1));
    u64 start = clock_->now_ns();
    for (;;) {
        u64 stored = memory_->read(config_.completion_store);
        if (stored == expected) {
            return ok_status();
        }
        u64 waited = clock_->now_ns() - start;
        if (waited >= config_.timeout_ns) {
            return make_error(ErrorCode::kBusy,
                              "AMD-Vi completion wait {} timed out after {} ns: store {} holds "
                              "{:#x} (command head {:#x}, tail {:#x}, status {:#x})",
                              expected, waited, config_.completion_store, stored, command_head(),
                              command_tail_, registers_->read(mmio::kStatus));
        }
    }
}

Status AmdViDriver::execute(const Command* commands, usize count) {
    RELAY_TRY(submit(commands, count));
    return wait_for_completion();
}

Status AmdViDriver::invalidate_everything() {
    RELAY_TRY(check_running());
    if ((extended_features_ & feature::kInvalidateAll) != 0) {
        Command all = invalidate_iommu_all();
        return execute(&all, 1);
    }
    Command batch[32];
    usize queued = 0;
    for (u32 id = 0; id < config_.device_table.entries; ++id) {
        batch[queued++] = invalidate_device_table_entry(DeviceId(static_cast<u16>(id)));
        batch[queued++] = invalidate_interrupt_table(DeviceId(static_cast<u16>(id)));
        if (queued == array_size(batch)) {
            RELAY_TRY(submit(batch, queued));
            queued = 0;
        }
    }
    batch[queued++] = invalidate_iommu_pages_all(0);
    return execute(batch, queued);
}

Result<DeviceTableEntry> AmdViDriver::read_device_table_entry(DeviceId device) {
    RELAY_TRY(check_running());
    RELAY_TRY(check_device(device));
    DeviceTableEntry entry;
    HostPhysAddr address = entry_address(device);
    for (usize w = 0; w < 4; ++w) {
        entry.words[w] = memory_->read(address + w * 8);
    }
    return entry;
}

// Word 0 holds V, TV, Mode, the root and IR/IW; the domain id is in word 1. When more than
// word 0 changes, the entry goes through "blocked" (word 0 first), so that a walk that
// reads the words at different times meets the old entry, a blocked one, or the new one,
// never a mix (§2.2.2: the unit may read an entry in pieces).
Status AmdViDriver::set_device_table_entry(DeviceId device, const DeviceTableEntry& entry) {
    RELAY_TRY_ASSIGN(old, read_device_table_entry(device));
    if (old == entry) {
        return ok_status();
    }
    HostPhysAddr address = entry_address(device);
    bool beyond_word0 = old.words[1] != entry.words[1] || old.words[2] != entry.words[2] ||
                        old.words[3] != entry.words[3];
    u64 word0 = old.words[0];
    if (beyond_word0) {
        if (word0 != kBlockedWord0) {
            word0 = kBlockedWord0;
            memory_->write(address, word0);
        }
        for (usize w = 1; w < 4; ++w) {
            if (old.words[w] != entry.words[w]) {
                memory_->write(address + w * 8, entry.words[w]);
            }
        }
    }
    if (word0 != entry.words[0]) {
        memory_->write(address, entry.words[0]);
    }

    Command commands[4];
    usize count = 0;
    commands[count++] = invalidate_device_table_entry(device);
    if (old.words[2] != entry.words[2]) {
        commands[count++] = invalidate_interrupt_table(device);  // §2.4.5: interrupt fields
    }
    // The unit may hold translations the device made under its old entry (QEMU 7.2 caches
    // even untranslated ones), tagged with the old domain: they must go. The new domain's
    // may be stale from before its table was last changed without a flush.
    u16 old_domain = static_cast<u16>(old.words[1] & dte::kDomainIdMask);
    u16 new_domain = static_cast<u16>(entry.words[1] & dte::kDomainIdMask);
    bool old_valid = (old.words[0] & dte::kValid) != 0;
    bool new_translates = (entry.words[0] & dte::kValid) != 0 &&
                          (entry.words[0] & dte::kTranslationValid) != 0 &&
                          (entry.words[0] & dte::kModeMask) != 0;
    if (old_valid) {
        commands[count++] = invalidate_iommu_pages_all(old_domain);
    }
    if (new_translates && !(old_valid && old_domain == new_domain)) {
        commands[count++] = invalidate_iommu_pages_all(new_domain);
    }
    return execute(commands, count);
}

Status AmdViDriver::attach(DeviceId device, const iommu::IoDomain& domain) {
    if (domain.domain_id == 0) {
        return make_error(ErrorCode::kInvalidArgument,
                          "attach of {}: domain id 0 is reserved for blocked devices",
                          device.text().view());
    }
    u8 deepest = feature::max_host_levels(extended_features_);
    if (domain.levels > deepest) {
        return make_error(ErrorCode::kUnsupported,
                          "attach of {}: an I/O page table of {} levels, this unit walks at most "
                          "{} (EFR HATS)",
                          device.text().view(), domain.levels, deepest);
    }
    RELAY_TRY_ASSIGN(entry,
                     translated_device_table_entry(domain.domain_id, domain.page_table_root,
                                                   domain.levels, domain.read, domain.write));
    return set_device_table_entry(device, entry);
}

Status AmdViDriver::block(DeviceId device) {
    return set_device_table_entry(device, blocked_device_table_entry());
}

Status AmdViDriver::flush(u16 domain_id, GuestPhysAddr iova, u64 size) {
    if (size == 0) {
        return ok_status();
    }
    Command command = invalidate_iommu_pages(domain_id, iova.raw(), size);
    return execute(&command, 1);
}

Status AmdViDriver::flush_domain(u16 domain_id) {
    Command command = invalidate_iommu_pages_all(domain_id);
    return execute(&command, 1);
}

Status AmdViDriver::drain_events(Event* out, usize capacity, EventDrain* result) {
    RELAY_TRY(check_running());
    *result = EventDrain();
    u32 size = event_ring_bytes();
    u32 tail = static_cast<u32>(registers_->read(mmio::kEventTail) & kRingPointerMask);
    if (tail >= size) {
        return make_error(ErrorCode::kCorrupt,
                          "AMD-Vi event log tail {:#x} lies beyond the {}-byte log", tail, size);
    }
    u64 status_value = registers_->read(mmio::kStatus);
    u32 start_head = event_head_;
    // Entries are cleared once read, so a non-zero entry at the head is new even where the
    // tail register has not moved past it: QEMU 7.2 writes entries without ever advancing
    // its tail register, and a real unit may be between writing an entry and the tail.
    // Either way the head ends where the unit's tail is (or will be).
    auto entry_waiting = [&]() {
        HostPhysAddr slot = config_.event_log.base + event_head_;
        return memory_->read(slot) != 0 || memory_->read(slot + 8) != 0;
    };
    if (event_head_ == tail) {
        events_ahead_of_tail_ = false;  // the tail register caught up
    }
    while (result->count < capacity) {
        if (event_head_ == tail || events_ahead_of_tail_) {
            if (!entry_waiting()) {
                break;
            }
            events_ahead_of_tail_ = true;
        }
        HostPhysAddr slot = config_.event_log.base + event_head_;
        EventLogEntry entry;
        u64 settle_start = clock_->now_ns();
        for (;;) {
            entry.words[0] = memory_->read(slot);
            entry.words[1] = memory_->read(slot + 8);
            if ((entry.words[0] >> 60) != 0 || clock_->now_ns() - settle_start >= kEventSettleNs) {
                break;
            }
        }
        out[result->count++] = decode_event(entry);
        // Cleared, so that an entry not yet rewritten is never read as new (see above).
        memory_->write(slot, 0);
        memory_->write(slot + 8, 0);
        event_head_ = (event_head_ + kEventSize) % size;
    }
    if (event_head_ != start_head) {
        registers_->write(mmio::kEventHead, event_head_);
    }
    result->remaining = events_ahead_of_tail_ ? (entry_waiting() ? 1 : 0)
                                              : ((tail + size - event_head_) % size) / kEventSize;
    if ((status_value & status::kEventOverflow) != 0) {
        result->overflowed = true;
        if (result->remaining == 0) {
            // §3.4.12: the unit stopped logging. Restart the log empty: disable it, reset
            // its pointers, clear EventOverflow (write 1 to clear), enable it again.
            u64 control_value = registers_->read(mmio::kControl);
            registers_->write(mmio::kControl, control_value & ~control::kEventLogEnable);
            registers_->write(mmio::kEventHead, 0);
            registers_->write(mmio::kEventTail, 0);
            registers_->write(mmio::kStatus, status::kEventOverflow);
            registers_->write(mmio::kControl, control_value);
            event_head_ = 0;
            events_ahead_of_tail_ = false;
        }
    }
    return ok_status();
}

// An overflow restart is reported as an event of its own, after the entries drained
// before it (or first thing in the next call, when the caller's array was full).
Status AmdViDriver::poll_events(iommu::IommuEvent* out, usize capacity, usize* count) {
    *count = 0;
    auto report_lost_events = [&]() {
        if (lost_events_unreported_ && *count < capacity) {
            iommu::IommuEvent& o = out[(*count)++];
            o = iommu::IommuEvent();
            o.kind = iommu::EventKind::kLogOverflow;
            o.device = config_.unit.id;
            o.text = FixedString<iommu::IommuEvent::kTextCapacity>::formatted(
                "the event log was full: events were lost; the log was restarted");
            lost_events_unreported_ = false;
        }
    };
    report_lost_events();
    Event events[kEventBatch];
    while (*count < capacity) {
        usize want = capacity - *count < kEventBatch ? capacity - *count : kEventBatch;
        EventDrain drain;
        RELAY_TRY(drain_events(events, want, &drain));
        for (usize i = 0; i < drain.count; ++i) {
            const Event& e = events[i];
            iommu::IommuEvent& o = out[(*count)++];
            o.kind = kind_of(e.code);
            o.device = e.device;
            o.domain_id = e.domain_id;
            o.address = e.address;
            o.write = e.has(event_flag::kWrite);
            o.text = format_event(e);
        }
        if (drain.overflowed && drain.remaining == 0) {
            lost_events_unreported_ = true;  // drain_events() restarted the log
        }
        if (drain.count < want || drain.remaining == 0) {
            break;
        }
    }
    report_lost_events();
    return ok_status();
}

Status AmdViDriver::describe(iommu::IommuState* out) const {
    RELAY_TRY(check_running());
    Areas a = areas_of(config_);
    *out = iommu::IommuState();
    out->vendor = iommu::Vendor::kAmdVi;
    out->unit = config_.unit;
    out->register_base = config_.mmio_base;
    out->root_table = a.ranges[0];
    out->command_queue = a.ranges[1];
    out->event_log = a.ranges[2];
    out->completion_store = a.ranges[3];
    out->completion_sequence = sequence_;
    return ok_status();
}

}  // namespace relay::amd_vi
