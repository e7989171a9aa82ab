// AmdViDriver: the logic of driving one AMD-Vi unit (AMD IOMMU spec #48882), over three
// small interfaces the hypervisor implements: the unit's MMIO registers, the memory the
// unit reads and writes by itself (device table, command buffer, event log, completion
// store), and a clock. Host tests drive it against a model of the unit
// (iommu/testing/fake_amd_vi.hpp).
//
//   init()    first boot: program the device table (every device blocked), the command
//             buffer and the event log, enable them, then translation (§3.4.3: the unit
//             must find its tables before IommuEn); flush whatever the unit cached.
//   adopt()   live update: take over a unit a previous Relay build left running. Checks
//             that its registers match the stream's state and waits for queued commands;
//             never writes a base or the control register, so translation never stops.
//   set_device_table_entry / attach / block: write one 256-bit entry so that every state a
//             concurrent walk can see is the old entry, "blocked", or the new entry; then
//             INVALIDATE_DEVTAB_ENTRY, INVALIDATE_IOMMU_PAGES for the old and the new domain,
//             COMPLETION_WAIT.
//   submit()  commands go into the ring at the tail, wrapping, waiting (bounded) for room
//             the unit makes by advancing the head; one tail write per batch.
//   wait_for_completion(): COMPLETION_WAIT storing a fresh sequence number, then a bounded
//             poll of the store.
//   drain_events(): read entries from the event log head to the tail register, wrapping,
//             then write the head; restart the log after an overflow.
#pragma once

#include "iommu/amd_vi.hpp"
#include "iommu/iommu.hpp"
#include "lib/address.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::amd_vi {

// The unit's MMIO register block (64-bit registers at the offsets of amd_vi::mmio).
class RegisterAccess {
public:
    virtual u64 read(u32 offset) = 0;
    virtual void write(u32 offset, u64 value) = 0;

protected:
    ~RegisterAccess() = default;
};

// Memory the unit accesses on its own. write() is one 64-bit store, visible to the unit
// before any later register write (on x86: write-back RAM and uncached MMIO keep program
// order for stores).
class DmaMemory {
public:
    virtual u64 read(HostPhysAddr address) = 0;
    virtual void write(HostPhysAddr address, u64 value) = 0;

protected:
    ~DmaMemory() = default;
};

class Clock {
public:
    virtual u64 now_ns() = 0;

protected:
    ~Clock() = default;
};

// The memory the hypervisor gives one unit. The areas must not overlap.
struct AmdViConfig {
    iommu::PciDevice unit;   // from the IVHD (for describe(); the driver does no PCI)
    HostPhysAddr mmio_base;  // from the IVHD (idem)
    DeviceTableRegister device_table;
    RingRegister command_buffer;
    RingRegister event_log;
    HostPhysAddr completion_store;  // 8 bytes, 8-byte aligned
    // The IVHD block's flags (§5.2.2.1): HtTunEn, PassPW, ResPassPW and Isoc are carried
    // into the control register as the firmware asks.
    u8 ivhd_flags = 0;
    // How long a completion wait, or a wait for room in the command buffer, may take.
    u64 timeout_ns = 100'000'000;
};

struct EventDrain {
    usize count = 0;          // events written to the caller's array
    usize remaining = 0;      // entries still in the log (the array was full)
    bool overflowed = false;  // the unit lost events; the log was restarted
};

class AmdViDriver final : public iommu::Iommu {
public:
    AmdViDriver(RegisterAccess& registers, DmaMemory& memory, Clock& clock)
        : registers_(&registers), memory_(&memory), clock_(&clock) {}

    Status init(const AmdViConfig& config);
    // `timeout_ns` bounds the wait for commands the previous build left queued. Changes
    // nothing the previous build relies on, so that it can take the unit back (rollback).
    Status adopt(const iommu::IommuState& state, u64 timeout_ns = 100'000'000);
    // Once no rollback can hand the unit back: brings what an older build left to this
    // build's rules. Entries without interrupt remapping (valid, word 2 zero) get their
    // interrupt requests refused (dte::kInterruptsRefused) and the unit is flushed; the
    // control register gets Coherent and the IVHD's bus attributes (init() sets them), its
    // enables untouched. An older build refuses entries with word 2 set, hence "once".
    Status finish_adoption(u8 ivhd_flags);

    bool running() const { return running_; }
    // What the last finish_adoption() changed: entries that let interrupts pass, closed;
    // control register bits added.
    u32 interrupts_closed_at_adoption() const { return interrupts_closed_at_adoption_; }
    u64 control_bits_added() const { return control_bits_added_; }
    u64 extended_features() const { return extended_features_; }
    const AmdViConfig& config() const { return config_; }

    // --- iommu::Iommu -------------------------------------------------------------------
    iommu::Vendor vendor() const override { return iommu::Vendor::kAmdVi; }
    Status attach(DeviceId device, const iommu::IoDomain& domain) override;
    Status block(DeviceId device) override;
    Status flush(u16 domain_id, GuestPhysAddr iova, u64 size) override;
    Status flush_domain(u16 domain_id) override;
    Status poll_events(iommu::IommuEvent* out, usize capacity, usize* count) override;
    Status describe(iommu::IommuState* out) const override;

    // --- AMD-Vi specifics ---------------------------------------------------------------
    Result<DeviceTableEntry> read_device_table_entry(DeviceId device);
    Status set_device_table_entry(DeviceId device, const DeviceTableEntry& entry);
    // Queues commands (waiting, bounded, for room) and hands them to the unit.
    Status submit(const Command* commands, usize count);
    // COMPLETION_WAIT and a bounded poll of its store: every earlier command is done.
    Status wait_for_completion();
    // submit() + wait_for_completion().
    Status execute(const Command* commands, usize count);
    // INVALIDATE_IOMMU_ALL when the unit has it (EFR IASup), else one
    // INVALIDATE_DEVTAB_ENTRY and one INVALIDATE_INTERRUPT_TABLE per device table entry;
    // then a completion wait.
    Status invalidate_everything();
    Status drain_events(Event* out, usize capacity, EventDrain* result);

private:
    Status check_running() const;
    Status check_device(DeviceId device) const;
    u32 command_ring_bytes() const { return config_.command_buffer.entries * kCommandSize; }
    u32 event_ring_bytes() const { return config_.event_log.entries * kEventSize; }
    HostPhysAddr entry_address(DeviceId device) const {
        return config_.device_table.base + static_cast<u64>(device.raw) * kDeviceTableEntrySize;
    }
    // The head register as a ring offset (QEMU 7.2 can report the ring size for 0).
    u32 command_head();
    Status wait_for_room(u32 needed_bytes);

    RegisterAccess* registers_;
    DmaMemory* memory_;
    Clock* clock_;
    AmdViConfig config_;
    bool running_ = false;
    u64 extended_features_ = 0;
    u32 command_tail_ = 0;  // byte offset of the next free slot
    u32 event_head_ = 0;    // byte offset of the next entry to read
    // The head passed the tail register reading entries by content (drain_events()).
    bool events_ahead_of_tail_ = false;
    u64 sequence_ = 0;  // last completion-wait value submitted
    // drain_events() restarted an overflowed log; poll_events() has not said so yet.
    bool lost_events_unreported_ = false;
    u32 interrupts_closed_at_adoption_ = 0;
    u64 control_bits_added_ = 0;
};

}  // namespace relay::amd_vi
