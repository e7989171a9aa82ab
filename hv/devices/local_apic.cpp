#include "hv/devices/local_apic.hpp"

namespace relay {

namespace {
constexpr u32 kApicVersion = 0x0006'0014;  // version 0x14 (integrated), 7 LVT entries
constexpr u32 kSvrWritable = 0x13FF;       // vector, software enable, focus check, EOI suppression
constexpr u32 kLvtTimerWritable = 0x7'00FF | kLvtMasked;  // vector, mask, mode (18:17)
constexpr u32 kLvtWritable = 0x0'07FF | kLvtMasked | (1u << 13) | (1u << 15);
}  // namespace

void VirtualLocalApic::reset(u32 apic_id, u64 tsc_khz) {
    apic_id_ = apic_id;
    tsc_khz_ = tsc_khz != 0 ? tsc_khz : 1'000'000;
    svr_ = 0xFF;
    for (auto& word : irr_) {
        word.store(0, std::memory_order_relaxed);
    }
    for (int i = 0; i < 8; ++i) {
        isr_[i] = 0;
        tmr_[i] = 0;
    }
    esr_ = 0;
    icr_ = 0;
    lvt_timer_ = lvt_thermal_ = lvt_performance_ = kLvtMasked;
    lvt_lint0_ = lvt_lint1_ = lvt_error_ = lvt_cmci_ = kLvtMasked;
    timer_divide_ = 0;
    timer_initial_count_ = 0;
    timer_armed_ = false;
    timer_start_ = 0;
    timer_deadline_ = 0;
    tsc_deadline_ = 0;
}

u64 VirtualLocalApic::divisor() const {
    // TDCR bits 3 and 1:0 (SDM figure 10-10): 000=2, 001=4, ..., 110=128, 111=1.
    u32 code = ((timer_divide_ >> 1) & 4) | (timer_divide_ & 3);
    return code == 7 ? 1 : 2ull << code;
}

u64 VirtualLocalApic::bus_ticks_to_tsc(u64 ticks) const {
    // Bus ticks < 2^39 (32-bit count x 128) and tsc_khz < 2^23: the product fits.
    return ticks * tsc_khz_ / (kVirtualApicBusHz / 1000);
}

u64 VirtualLocalApic::tsc_to_bus_ticks(u64 tsc) const {
    return tsc * (kVirtualApicBusHz / 1000) / tsc_khz_;
}

void VirtualLocalApic::start_count_timer(u32 count, u64 now) {
    timer_initial_count_ = count;
    if (count == 0) {
        timer_armed_ = false;
        return;
    }
    timer_start_ = now;
    timer_deadline_ = now + bus_ticks_to_tsc(static_cast<u64>(count) * divisor());
    timer_armed_ = true;
}

int VirtualLocalApic::highest_bit(const u32 bits[8]) {
    for (int word = 7; word >= 0; --word) {
        if (bits[word] != 0) {
            return word * 32 + 31 - __builtin_clz(bits[word]);
        }
    }
    return -1;
}

int VirtualLocalApic::highest_irr() const {
    u32 snapshot[8];
    for (int i = 0; i < 8; ++i) {
        snapshot[i] = irr_[i].load(std::memory_order_acquire);
    }
    return highest_bit(snapshot);
}

u8 VirtualLocalApic::ppr(u8 cr8) const {
    u32 tpr = static_cast<u32>(cr8 & 0xF) << 4;
    int isr = highest_bit(isr_);
    u32 isr_class = isr < 0 ? 0 : static_cast<u32>(isr) & 0xF0;
    return static_cast<u8>(tpr >= isr_class ? tpr : isr_class);
}

bool VirtualLocalApic::read(u32 msr, u64 now, u8 cr8, u64* value) const {
    if (msr >= x2apic::kIsr0 && msr < x2apic::kIsr0 + 8) {
        *value = isr_[msr - x2apic::kIsr0];
        return true;
    }
    if (msr >= x2apic::kTmr0 && msr < x2apic::kTmr0 + 8) {
        *value = tmr_[msr - x2apic::kTmr0];
        return true;
    }
    if (msr >= x2apic::kIrr0 && msr < x2apic::kIrr0 + 8) {
        *value = irr_[msr - x2apic::kIrr0].load(std::memory_order_acquire);
        return true;
    }
    switch (msr) {
        case x2apic::kId:
            *value = apic_id_;
            return true;
        case x2apic::kVersion:
            *value = kApicVersion;
            return true;
        case x2apic::kTpr:
            *value = static_cast<u64>(cr8 & 0xF) << 4;
            return true;
        case x2apic::kPpr:
            *value = ppr(cr8);
            return true;
        case x2apic::kLdr:
            // x2APIC logical ID: cluster (ID[19:4]) in 31:16, one bit for ID[3:0].
            *value = ((apic_id_ >> 4) << 16) | (1u << (apic_id_ & 0xF));
            return true;
        case x2apic::kSvr:
            *value = svr_;
            return true;
        case x2apic::kEsr:
            *value = esr_;
            return true;
        case x2apic::kIcr:
            *value = icr_;
            return true;
        case x2apic::kLvtTimer:
            *value = lvt_timer_;
            return true;
        case x2apic::kLvtThermal:
            *value = lvt_thermal_;
            return true;
        case x2apic::kLvtPerformance:
            *value = lvt_performance_;
            return true;
        case x2apic::kLvtLint0:
            *value = lvt_lint0_;
            return true;
        case x2apic::kLvtLint1:
            *value = lvt_lint1_;
            return true;
        case x2apic::kLvtError:
            *value = lvt_error_;
            return true;
        case x2apic::kLvtCmci:
            *value = lvt_cmci_;
            return true;
        case x2apic::kTimerInitialCount:
            *value = timer_mode() == TimerMode::kTscDeadline ? 0 : timer_initial_count_;
            return true;
        case x2apic::kTimerCurrentCount: {
            if (!timer_armed_ || timer_mode() == TimerMode::kTscDeadline) {
                *value = 0;
                return true;
            }
            u64 remaining = timer_deadline_ > now ? timer_deadline_ - now : 0;
            u64 count = tsc_to_bus_ticks(remaining) / divisor();
            *value = count > timer_initial_count_ ? timer_initial_count_ : count;
            return true;
        }
        case x2apic::kTimerDivide:
            *value = timer_divide_;
            return true;
        case x2apic::kTscDeadline:
            *value = timer_mode() == TimerMode::kTscDeadline ? tsc_deadline_ : 0;
            return true;
        default:
            return false;  // EOI and SELF_IPI are write-only; the rest is reserved
    }
}

bool VirtualLocalApic::write(u32 msr, u64 value, u64 now, u8* cr8, InterProcessorInterrupt* ipi,
                             bool* ipi_requested) {
    *ipi_requested = false;
    auto write_lvt = [&](u32& lvt, u32 writable) {
        u32 masked = static_cast<u32>(value) & writable;
        if (!software_enabled()) {
            masked |= kLvtMasked;  // SDM 10.4.7.2: LVTs stay masked while disabled
        }
        lvt = masked;
    };
    switch (msr) {
        case x2apic::kTpr:
            if ((value & ~0xFFull) != 0) {
                return false;
            }
            *cr8 = static_cast<u8>((value >> 4) & 0xF);
            return true;
        case x2apic::kEoi: {
            if (value != 0) {
                return false;  // x2APIC: a non-zero EOI write is a #GP
            }
            int highest = highest_bit(isr_);
            if (highest >= 0) {
                isr_[highest / 32] &= ~(1u << (highest % 32));
            }
            return true;
        }
        case x2apic::kSvr:
            if ((value & ~static_cast<u64>(kSvrWritable)) != 0) {
                return false;
            }
            svr_ = static_cast<u32>(value);
            if (!software_enabled()) {
                lvt_timer_ |= kLvtMasked;
                lvt_thermal_ |= kLvtMasked;
                lvt_performance_ |= kLvtMasked;
                lvt_lint0_ |= kLvtMasked;
                lvt_lint1_ |= kLvtMasked;
                lvt_error_ |= kLvtMasked;
                lvt_cmci_ |= kLvtMasked;
            }
            return true;
        case x2apic::kEsr:
            if (value != 0) {
                return false;
            }
            esr_ = 0;
            return true;
        case x2apic::kIcr: {
            icr_ = value & 0xFFFF'FFFF'000C'CFFFull;
            ipi->vector = static_cast<u8>(value);
            ipi->delivery_mode = static_cast<u8>((value >> 8) & 7);
            ipi->logical = (value & (1u << 11)) != 0;
            ipi->shorthand = static_cast<InterProcessorInterrupt::Shorthand>((value >> 18) & 3);
            ipi->destination = static_cast<u32>(value >> 32);
            *ipi_requested = true;
            return true;
        }
        case x2apic::kLvtTimer: {
            TimerMode before = timer_mode();
            write_lvt(lvt_timer_, kLvtTimerWritable);
            if (((lvt_timer_ >> 17) & 3) == 3) {
                lvt_timer_ &= ~(1u << 18);  // reserved mode 11b: treat as one-shot
            }
            if (timer_mode() != before &&
                (before == TimerMode::kTscDeadline || timer_mode() == TimerMode::kTscDeadline)) {
                // Switching between count and deadline modes disarms (SDM 10.5.4.1).
                timer_armed_ = false;
                timer_initial_count_ = 0;
                tsc_deadline_ = 0;
            }
            return true;
        }
        case x2apic::kLvtThermal:
            write_lvt(lvt_thermal_, kLvtWritable);
            return true;
        case x2apic::kLvtPerformance:
            write_lvt(lvt_performance_, kLvtWritable);
            return true;
        case x2apic::kLvtLint0:
            write_lvt(lvt_lint0_, kLvtWritable);
            return true;
        case x2apic::kLvtLint1:
            write_lvt(lvt_lint1_, kLvtWritable);
            return true;
        case x2apic::kLvtError:
            write_lvt(lvt_error_, kLvtWritable);
            return true;
        case x2apic::kLvtCmci:
            write_lvt(lvt_cmci_, kLvtWritable);
            return true;
        case x2apic::kTimerInitialCount:
            if (timer_mode() == TimerMode::kTscDeadline) {
                return true;  // ignored in TSC-deadline mode
            }
            start_count_timer(static_cast<u32>(value), now);
            return true;
        case x2apic::kTimerDivide:
            if ((value & ~0xBull) != 0) {
                return false;
            }
            timer_divide_ = static_cast<u32>(value);
            return true;
        case x2apic::kSelfIpi:
            if ((value & ~0xFFull) != 0) {
                return false;
            }
            raise(static_cast<u8>(value));
            return true;
        case x2apic::kTscDeadline:
            if (timer_mode() != TimerMode::kTscDeadline) {
                return true;  // ignored outside TSC-deadline mode
            }
            tsc_deadline_ = value;
            timer_armed_ = value != 0;
            timer_deadline_ = value;
            return true;
        default:
            return false;  // read-only or reserved
    }
}

void VirtualLocalApic::raise(u8 vector) {
    if (vector < 16) {
        esr_ |= 1u << 6;  // "received illegal vector" (SDM 10.5.3); the interrupt is dropped
        return;
    }
    irr_[vector / 32].fetch_or(1u << (vector % 32), std::memory_order_acq_rel);
}

void VirtualLocalApic::poll_timer(u64 now) {
    if (!timer_armed_ || now < timer_deadline_) {
        return;
    }
    if ((lvt_timer_ & kLvtMasked) == 0 && software_enabled()) {
        raise(static_cast<u8>(lvt_timer_));
    }
    switch (timer_mode()) {
        case TimerMode::kPeriodic: {
            u64 period = bus_ticks_to_tsc(static_cast<u64>(timer_initial_count_) * divisor());
            if (period == 0) {
                timer_armed_ = false;
                break;
            }
            // Missed periods coalesce into the one interrupt just raised.
            u64 behind = now - timer_deadline_;
            timer_start_ = timer_deadline_ + (behind / period) * period;
            timer_deadline_ = timer_start_ + period;
            break;
        }
        case TimerMode::kTscDeadline:
            tsc_deadline_ = 0;
            timer_armed_ = false;
            break;
        case TimerMode::kOneShot:
            timer_armed_ = false;
            break;
    }
}

int VirtualLocalApic::deliverable(u8 cr8) const {
    if (!software_enabled()) {
        return -1;
    }
    int vector = highest_irr();
    if (vector < 0 || (static_cast<u32>(vector) & 0xF0) <= ppr(cr8)) {
        return -1;
    }
    return vector;
}

void VirtualLocalApic::acknowledge(u8 vector) {
    irr_[vector / 32].fetch_and(~(1u << (vector % 32)), std::memory_order_acq_rel);
    isr_[vector / 32] |= 1u << (vector % 32);
}

bool VirtualLocalApic::has_pending() const {
    return highest_irr() >= 0;
}

VirtualLocalApic::State VirtualLocalApic::save(u64 now) const {
    State state;
    state.apic_id = apic_id_;
    state.svr = svr_;
    for (int i = 0; i < 8; ++i) {
        state.irr[i] = irr_[i].load(std::memory_order_acquire);
        state.isr[i] = isr_[i];
        state.tmr[i] = tmr_[i];
    }
    state.esr = esr_;
    state.icr = icr_;
    state.lvt_timer = lvt_timer_;
    state.lvt_thermal = lvt_thermal_;
    state.lvt_performance = lvt_performance_;
    state.lvt_lint0 = lvt_lint0_;
    state.lvt_lint1 = lvt_lint1_;
    state.lvt_error = lvt_error_;
    state.lvt_cmci = lvt_cmci_;
    state.timer_divide = timer_divide_;
    state.timer_initial_count = timer_mode() == TimerMode::kTscDeadline ? 0 : timer_initial_count_;
    u64 current = 0;
    read(x2apic::kTimerCurrentCount, now, 0, &current);
    state.timer_current_count = static_cast<u32>(current);
    state.sampled_at = now;
    state.tsc_deadline =
        timer_mode() == TimerMode::kTscDeadline && timer_armed_ ? tsc_deadline_ : 0;
    return state;
}

void VirtualLocalApic::restore(const State& state, u64 tsc_khz, u64 now) {
    reset(state.apic_id, tsc_khz);
    svr_ = state.svr & kSvrWritable;
    for (int i = 0; i < 8; ++i) {
        irr_[i].store(state.irr[i], std::memory_order_relaxed);
        isr_[i] = state.isr[i];
        tmr_[i] = state.tmr[i];
    }
    esr_ = state.esr;
    icr_ = state.icr;
    lvt_timer_ = state.lvt_timer & kLvtTimerWritable;
    lvt_thermal_ = state.lvt_thermal & kLvtWritable;
    lvt_performance_ = state.lvt_performance & kLvtWritable;
    lvt_lint0_ = state.lvt_lint0 & kLvtWritable;
    lvt_lint1_ = state.lvt_lint1 & kLvtWritable;
    lvt_error_ = state.lvt_error & kLvtWritable;
    lvt_cmci_ = state.lvt_cmci & kLvtWritable;
    timer_divide_ = state.timer_divide & 0xB;
    if (timer_mode() == TimerMode::kTscDeadline) {
        tsc_deadline_ = state.tsc_deadline;
        timer_armed_ = state.tsc_deadline != 0;
        timer_deadline_ = state.tsc_deadline;
        return;
    }
    timer_initial_count_ = state.timer_initial_count;
    if (state.timer_initial_count == 0) {
        return;
    }
    if (state.timer_current_count == 0 && timer_mode() == TimerMode::kOneShot) {
        return;  // expired before the save
    }
    // The deadline stays where it was in guest time: the guest TSC keeps running while
    // the vCPU is paused (or the hypervisor is replaced), and so does the APIC timer.
    (void)now;
    timer_deadline_ = state.sampled_at +
                      bus_ticks_to_tsc(static_cast<u64>(state.timer_current_count) * divisor());
    timer_start_ = state.sampled_at;
    timer_armed_ = true;
}

}  // namespace relay
