// A small model of one AMD-Vi unit for host tests: its MMIO registers and the memory it
// reads and writes (sparse, 64-bit words), behaving as the spec (#48882) describes and,
// where QEMU 7.2 differs in ways a driver must survive, optionally as QEMU does.
//
//   - Commands run when the tail register is written (or the control register enables
//     the buffer), only while IommuEn and CmdBufEn are set (as in QEMU). COMPLETION_WAIT
//     stores its data; invalidations drop what the model cached. An opcode listed in
//     `illegal_opcodes` stops the buffer and logs ILLEGAL_COMMAND_ERROR (the spec's
//     behaviour).
//   - `stalled` makes the unit never process a command (the head never moves);
//     `commands_per_kick` makes it process only a few at a time, as the driver goes on.
//   - `qemu_head_quirk`: the head register reads as the ring size after the last slot
//     (QEMU's amdvi_cmdbuf_run() stores the head before wrapping it).
//   - The test injects event log entries at the tail; a full log sets EventOverflow.
//   - dma() translates a device's request through the device table and I/O page table,
//     caching device table entries and translations (tagged with the domain) until an
//     invalidation drops them, so a driver that forgets to invalidate is caught.
//   - Misuse is recorded in `violations`: a base register written while the unit runs, a
//     head/tail outside its ring, an unaligned memory access. `translation_disables`
//     counts control writes that clear IommuEn.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "iommu/amd_vi.hpp"
#include "iommu/amd_vi_driver.hpp"

namespace relay::amd_vi::testing {

class FakeClock final : public Clock {
public:
    u64 now_ns() override {
        now += step;
        return now;
    }
    u64 now = 0;
    u64 step = 1000;  // every reading advances time by 1 µs
};

struct RegisterWrite {
    u32 offset;
    u64 value;
};

struct DmaResult {
    bool ok = false;
    u64 address = 0;
};

class FakeAmdVi final : public RegisterAccess, public DmaMemory {
public:
    // QEMU 7.2's EFR: PreFSup, PPRSup, GTSup, IASup, GASup, HESup, GATS=2, HATS=2.
    static constexpr u64 kQemuExtendedFeatures =
        feature::kPrefetch | feature::kPpr | feature::kGuestTranslation | feature::kInvalidateAll |
        feature::kGuestVirtualApic | feature::kHardwareError | (2ull << 12) | (2ull << 10);

    FakeAmdVi() { registers_[mmio::kExtendedFeatures] = kQemuExtendedFeatures; }

    // --- RegisterAccess ---------------------------------------------------------------
    u64 read(u32 offset) override {
        ++register_reads;
        if (commands_per_kick != 0) {
            run_commands();  // time passes: an asynchronous unit makes progress
        }
        if (offset == mmio::kCommandHead) {
            return head_register_;
        }
        auto it = registers_.find(offset);
        return it == registers_.end() ? 0 : it->second;
    }
    void write(u32 offset, u64 value) override {
        register_writes.push_back({offset, value});
        u64 control_value = registers_[mmio::kControl];
        bool running = (control_value & control::kIommuEnable) != 0;
        switch (offset) {
            case mmio::kDeviceTableBase:
            case mmio::kCommandBufferBase:
            case mmio::kEventLogBase:
                if (running) {
                    violation("base register " + std::string(mmio::register_name(offset)) +
                              " written while the unit runs");
                }
                registers_[offset] = value;
                if (offset == mmio::kCommandBufferBase) {
                    head_ = 0;
                }
                break;
            case mmio::kControl:
                if (running && (value & control::kIommuEnable) == 0) {
                    ++translation_disables;  // fine at first boot, never in an adoption
                }
                registers_[offset] = value;
                update_status();
                run_commands();
                break;
            case mmio::kCommandHead:
                check_pointer(value, command_ring_bytes(), "command head");
                head_ = static_cast<u32>(value & kRingPointerMask);
                head_register_ = head_;
                break;
            case mmio::kCommandTail:
                check_pointer(value, command_ring_bytes(), "command tail");
                registers_[offset] = value;
                run_commands();
                break;
            case mmio::kEventHead:
                check_pointer(value, event_ring_bytes(), "event head");
                registers_[offset] = value;
                break;
            case mmio::kEventTail:
                registers_[offset] = value;
                break;
            case mmio::kStatus:
                // Bits 0-2 and 5-6 are write-1-to-clear; the others are read-only.
                registers_[offset] &= ~(value & 0x67);
                break;
            default:
                registers_[offset] = value;
        }
    }

    // --- DmaMemory --------------------------------------------------------------------
    u64 read(HostPhysAddr address) override {
        check_alignment(address.raw());
        if (commands_per_kick != 0) {
            run_commands();
        }
        auto it = memory_.find(address.raw());
        return it == memory_.end() ? 0 : it->second;
    }
    void write(HostPhysAddr address, u64 value) override {
        check_alignment(address.raw());
        memory_[address.raw()] = value;
        if (on_memory_write) {
            on_memory_write(address.raw(), value);
        }
    }

    // --- Test controls ----------------------------------------------------------------
    bool stalled = false;
    bool qemu_head_quirk = false;
    // QEMU 7.2 writes event log entries without ever advancing the tail register.
    bool qemu_stale_event_tail = false;
    // 0: run every queued command when kicked (QEMU); n: at most n per tail write and per
    // register or memory read of the driver, like a unit working in parallel with it.
    usize commands_per_kick = 0;
    std::set<u8> illegal_opcodes;
    std::vector<Command> processed;  // every command the unit executed, in order
    std::vector<RegisterWrite> register_writes;
    std::vector<std::string> violations;
    u64 register_reads = 0;
    int translation_disables = 0;
    std::function<void(u64, u64)> on_memory_write;

    void set_extended_features(u64 value) { registers_[mmio::kExtendedFeatures] = value; }
    u64 reg(u32 offset) { return read(offset); }
    u32 head() const { return head_; }
    // Lets a stalled unit run what is queued.
    void resume() {
        stalled = false;
        run_commands();
    }

    // Appends an event at the tail; false (and EventOverflow) when the log is full.
    bool inject_event(const EventLogEntry& entry) {
        u32 size = event_ring_bytes();
        u64 control_value = registers_[mmio::kControl];
        if ((control_value & control::kEventLogEnable) == 0 ||
            (registers_[mmio::kStatus] & status::kEventOverflow) != 0) {
            return false;
        }
        u32 tail = qemu_stale_event_tail
                       ? stale_event_tail_
                       : static_cast<u32>(registers_[mmio::kEventTail] & kRingPointerMask);
        u32 head = static_cast<u32>(registers_[mmio::kEventHead] & kRingPointerMask);
        u32 next = (tail + kEventSize) % size;
        if (next == head && !qemu_stale_event_tail) {
            registers_[mmio::kStatus] |= status::kEventOverflow;
            return false;
        }
        u64 base = event_base();
        memory_[base + tail] = entry.words[0];
        memory_[base + tail + 8] = entry.words[1];
        if (qemu_stale_event_tail) {
            stale_event_tail_ = next;
        } else {
            registers_[mmio::kEventTail] = next;
        }
        return true;
    }

    // A DMA request of `device` at `iova`: what the unit would do (using and filling its
    // caches).
    DmaResult dma(DeviceId device, u64 iova, bool write) {
        DmaResult result;
        if ((registers_[mmio::kControl] & control::kIommuEnable) == 0) {
            result.ok = true;
            result.address = iova;
            return result;
        }
        auto cached = iotlb_.find({device.raw, iova >> 12});
        if (cached != iotlb_.end()) {
            ++iotlb_hits;
            return permit(cached->second, iova, write);
        }
        DeviceTableEntry entry = device_table_entry(device);
        u64 w0 = entry.words[0];
        if ((w0 & dte::kValid) == 0) {
            result.ok = true;  // V=0: untranslated, unchecked
            result.address = iova;
            return result;
        }
        Translation t;
        t.domain = static_cast<u16>(entry.words[1] & dte::kDomainIdMask);
        u8 mode = static_cast<u8>((w0 & dte::kModeMask) >> dte::kModeShift);
        if ((w0 & dte::kTranslationValid) == 0 || mode == 0) {
            t.page = iova & ~0xFFFull;
            t.iova_page = t.page;
            t.size = kPageSize4K;
            t.read = (w0 & dte::kIoRead) != 0;
            t.write = (w0 & dte::kIoWrite) != 0;
        } else if (!walk(w0, mode, iova, &t)) {
            return result;
        }
        if (t.read || t.write) {
            iotlb_[{device.raw, iova >> 12}] = t;
        }
        return permit(t, iova, write);
    }
    // A message-signalled interrupt request of `device` (a write of `data` to 0xFEEx_xxxx):
    // whether the unit lets it reach the CPUs (§2.2.5). IV=0: as sent. IV=1: by delivery
    // mode (data bits 10:8), fixed and arbitrated per IntCtl (abort or forward; the model
    // has no remapping table), SMI per SysMgt, NMI/INIT/ExtINT per their pass bits.
    bool interrupt(DeviceId device, u32 data) {
        if ((registers_[mmio::kControl] & control::kIommuEnable) == 0) {
            return true;
        }
        DeviceTableEntry entry = device_table_entry(device);
        u64 w2 = entry.words[2];
        if ((w2 & dte::kInterruptMapValid) == 0) {
            return true;
        }
        switch ((data >> 8) & 7) {
            case 0:  // fixed
            case 1:  // arbitrated
                return ((w2 >> dte::kInterruptControlShift) & 3) ==
                       static_cast<u64>(InterruptControl::kForwardUnmapped);
            case 2:  // SMI
                return ((entry.words[1] >> dte::kSystemManagementShift) & 3) == 1;
            case 4:
                return (w2 & dte::kNmiPass) != 0;
            case 5:
                return (w2 & dte::kInitPass) != 0;
            case 7:
                return (w2 & dte::kExtIntPass) != 0;
            default:
                return false;  // reserved delivery modes
        }
    }

    usize iotlb_size() const { return iotlb_.size(); }
    u64 iotlb_hits = 0;

private:
    struct Translation {
        u16 domain = 0;
        u64 page = 0;  // host address of the page
        u64 size = 0;
        u64 iova_page = 0;
        bool read = false;
        bool write = false;
    };

    void violation(const std::string& what) { violations.push_back(what); }
    void check_alignment(u64 address) {
        if ((address & 7) != 0) {
            char text[64];
            std::snprintf(text, sizeof(text), "unaligned memory access at %#llx",
                          static_cast<unsigned long long>(address));
            violation(text);
        }
    }
    void check_pointer(u64 value, u32 ring_bytes, const char* what) {
        if ((value & ~kRingPointerMask) != 0 || (ring_bytes != 0 && value >= ring_bytes)) {
            violation(std::string(what) + " written outside its ring");
        }
    }
    u32 command_ring_bytes() {
        return decode_ring_register(registers_[mmio::kCommandBufferBase]).entries * kCommandSize;
    }
    u32 event_ring_bytes() {
        return decode_ring_register(registers_[mmio::kEventLogBase]).entries * kEventSize;
    }
    u64 event_base() { return decode_ring_register(registers_[mmio::kEventLogBase]).base.raw(); }

    void update_status() {
        u64 control_value = registers_[mmio::kControl];
        bool on = (control_value & control::kIommuEnable) != 0;
        u64& s = registers_[mmio::kStatus];
        s &= ~(status::kCommandBufferRunning | status::kEventLogRunning);
        if (on && (control_value & control::kCommandBufferEnable) != 0 && !command_error_) {
            s |= status::kCommandBufferRunning;
        }
        if (on && (control_value & control::kEventLogEnable) != 0) {
            s |= status::kEventLogRunning;
        }
    }

    void run_commands() {
        u64 control_value = registers_[mmio::kControl];
        if (stalled || command_error_ || (control_value & control::kIommuEnable) == 0 ||
            (control_value & control::kCommandBufferEnable) == 0) {
            return;
        }
        u32 size = command_ring_bytes();
        u64 base = decode_ring_register(registers_[mmio::kCommandBufferBase]).base.raw();
        u32 tail = static_cast<u32>(registers_[mmio::kCommandTail] & kRingPointerMask);
        usize budget = commands_per_kick == 0 ? ~usize{0} : commands_per_kick;
        while (head_ != tail && budget-- > 0) {
            Command c;
            c.words[0] = memory_[base + head_];
            c.words[1] = memory_[base + head_ + 8];
            if (illegal_opcodes.count(command_opcode(c)) != 0) {
                command_error_ = true;
                registers_[mmio::kStatus] &= ~status::kCommandBufferRunning;
                inject_event(
                    make_event(EventCode::kIllegalCommandError, DeviceId(0), 0, base + head_, 0));
                return;
            }
            execute(c);
            processed.push_back(c);
            u32 next = head_ + kCommandSize;
            head_register_ = qemu_head_quirk ? next : next % size;
            head_ = next % size;
        }
    }

    void execute(const Command& c) {
        switch (static_cast<CommandOpcode>(command_opcode(c))) {
            case CommandOpcode::kCompletionWait:
                if ((c.words[0] & 1) != 0) {
                    memory_[c.words[0] & 0x000F'FFFF'FFFF'FFF8ull] = c.words[1];
                }
                break;
            case CommandOpcode::kInvalidateDeviceTableEntry:
                dte_cache_.erase(static_cast<u16>(c.words[0]));
                break;
            case CommandOpcode::kInvalidateIommuPages: {
                PageInvalidation p = decode_invalidate_iommu_pages(c);
                for (auto it = iotlb_.begin(); it != iotlb_.end();) {
                    const Translation& t = it->second;
                    bool hit = t.domain == p.domain_id && t.iova_page <= p.last &&
                               t.iova_page + (t.size - 1) >= p.first;
                    it = hit ? iotlb_.erase(it) : std::next(it);
                }
                break;
            }
            case CommandOpcode::kInvalidateIommuAll:
                iotlb_.clear();
                dte_cache_.clear();
                break;
            default:
                break;
        }
    }

    DeviceTableEntry device_table_entry(DeviceId device) {
        auto cached = dte_cache_.find(device.raw);
        if (cached != dte_cache_.end()) {
            return cached->second;
        }
        DeviceTableRegister table =
            decode_device_table_register(registers_[mmio::kDeviceTableBase]);
        DeviceTableEntry entry;
        for (int w = 0; w < 4; ++w) {
            entry.words[w] =
                memory_[table.base.raw() + u64{device.raw} * kDeviceTableEntrySize + w * 8u];
        }
        dte_cache_[device.raw] = entry;
        return entry;
    }

    // The host page table walk (§2.2.3): permissions ANDed along the way.
    bool walk(u64 dte0, u8 mode, u64 iova, Translation* t) {
        u64 table = dte0 & dte::kRootMask;
        bool read = (dte0 & dte::kIoRead) != 0;
        bool write = (dte0 & dte::kIoWrite) != 0;
        for (u8 level = mode; level >= 1; --level) {
            u64 shift = 12 + 9 * (level - 1);
            u64 entry = memory_[table + ((iova >> shift) & 0x1FF) * 8];
            if ((entry & 1) == 0) {
                return false;
            }
            read = read && (entry & dte::kIoRead) != 0;
            write = write && (entry & dte::kIoWrite) != 0;
            u8 next = static_cast<u8>((entry >> 9) & 7);
            if (next == 0) {
                t->size = 1ull << shift;
                t->page = entry & dte::kRootMask & ~(t->size - 1);
                t->iova_page = iova & ~(t->size - 1);
                t->read = read;
                t->write = write;
                return true;
            }
            table = entry & dte::kRootMask;
        }
        return false;
    }

    DmaResult permit(const Translation& t, u64 iova, bool write) {
        DmaResult result;
        if (write ? !t.write : !t.read) {
            return result;
        }
        result.ok = true;
        result.address = t.page + (iova & (t.size - 1));
        return result;
    }

    std::map<u32, u64> registers_;
    std::map<u64, u64> memory_;
    u32 head_ = 0;
    u64 head_register_ = 0;
    bool command_error_ = false;
    u32 stale_event_tail_ = 0;
    std::map<u16, DeviceTableEntry> dte_cache_;
    std::map<std::pair<u16, u64>, Translation> iotlb_;
};

// IoPageTable's table-memory backend over the model's memory: tables come from a bump
// allocator in a region the test chooses.
class ModelTableMemory {
public:
    ModelTableMemory(FakeAmdVi& unit, u64 base) : unit_(&unit), next_(base) {}
    Result<HostPhysAddr> allocate_table() {
        HostPhysAddr table(next_);
        next_ += kPageSize4K;
        for (usize i = 0; i < 512; ++i) {
            unit_->write(table + i * 8, 0);
        }
        return table;
    }
    void free_table(HostPhysAddr) {}
    u64 read_entry(HostPhysAddr table, usize index) { return unit_->read(table + index * 8); }
    void write_entry(HostPhysAddr table, usize index, u64 value) {
        unit_->write(table + index * 8, value);
    }

private:
    FakeAmdVi* unit_;
    u64 next_;
};

}  // namespace relay::amd_vi::testing
