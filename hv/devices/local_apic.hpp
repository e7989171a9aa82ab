// A virtual local APIC in x2APIC mode (Intel SDM vol. 3 ch. 10; AMD APM vol. 2 §16):
// IRR/ISR/TMR, TPR/PPR, EOI, the timer (one-shot, periodic, TSC-deadline), self-IPIs and
// the ICR for IPIs to other vCPUs of the domain. Registers are reached through the x2APIC
// MSRs 0x800-0x8FF, so no MMIO instruction has to be decoded (TCG's SVM has no decode
// assists). xAPIC MMIO mode is not offered: vCPUs start with x2APIC enabled.
//
// Time is the guest's TSC (host TSC + the vCPU's TSC offset), which continues across a
// live update, so timer deadlines stored in the stream stay meaningful. The APIC timer
// counts at a virtual 1 GHz bus clock (reported by CPUID leaf 0x4000'0010 EBX).
//
// Pure logic: unit-tested on the host. IRR is atomic so another CPU may raise an
// interrupt while the vCPU runs; everything else belongs to the vCPU's own CPU.
#pragma once

#include <atomic>

#include "lib/types.hpp"

namespace relay {

// x2APIC MSR numbers: 0x800 + (xAPIC offset >> 4).
namespace x2apic {
inline constexpr u32 kId = 0x802;
inline constexpr u32 kVersion = 0x803;
inline constexpr u32 kTpr = 0x808;
inline constexpr u32 kPpr = 0x80A;
inline constexpr u32 kEoi = 0x80B;
inline constexpr u32 kLdr = 0x80D;
inline constexpr u32 kSvr = 0x80F;
inline constexpr u32 kIsr0 = 0x810;
inline constexpr u32 kTmr0 = 0x818;
inline constexpr u32 kIrr0 = 0x820;
inline constexpr u32 kEsr = 0x828;
inline constexpr u32 kLvtCmci = 0x82F;
inline constexpr u32 kIcr = 0x830;
inline constexpr u32 kLvtTimer = 0x832;
inline constexpr u32 kLvtThermal = 0x833;
inline constexpr u32 kLvtPerformance = 0x834;
inline constexpr u32 kLvtLint0 = 0x835;
inline constexpr u32 kLvtLint1 = 0x836;
inline constexpr u32 kLvtError = 0x837;
inline constexpr u32 kTimerInitialCount = 0x838;
inline constexpr u32 kTimerCurrentCount = 0x839;
inline constexpr u32 kTimerDivide = 0x83E;
inline constexpr u32 kSelfIpi = 0x83F;
inline constexpr u32 kTscDeadline = 0x6E0;  // IA32_TSC_DEADLINE
}  // namespace x2apic

inline constexpr u32 kLvtMasked = 1u << 16;
inline constexpr u64 kVirtualApicBusHz = 1'000'000'000;

// An IPI the guest asked for (ICR write), for the owner to route to other vCPUs.
struct InterProcessorInterrupt {
    enum class Shorthand : u8 { kNone, kSelf, kAllIncludingSelf, kAllExcludingSelf };
    Shorthand shorthand = Shorthand::kNone;
    bool logical = false;
    u32 destination = 0;
    u8 vector = 0;
    u8 delivery_mode = 0;  // 0 fixed, 4 NMI, 5 INIT, 6 STARTUP
};

class VirtualLocalApic {
public:
    enum class TimerMode : u8 { kOneShot = 0, kPeriodic = 1, kTscDeadline = 2 };

    void reset(u32 apic_id, u64 tsc_khz);

    // MSR access. `now` is the guest TSC. False: the access faults (#GP).
    // `tpr` is the guest's task priority (VMCB V_TPR holds it as CR8).
    bool read(u32 msr, u64 now, u8 cr8, u64* value) const;
    // A write that requests an IPI stores it in *ipi and returns true; *ipi_requested
    // tells the caller to route it.
    bool write(u32 msr, u64 value, u64 now, u8* cr8, InterProcessorInterrupt* ipi,
               bool* ipi_requested);

    // Marks `vector` pending (from another vCPU, a device, or the timer). Thread-safe.
    void raise(u8 vector);

    // Fires the timer if its deadline has passed.
    void poll_timer(u64 now);

    // The highest pending vector that the current priority (TPR, ISR) lets through, or
    // -1. Delivery then calls acknowledge() (IRR -> ISR).
    int deliverable(u8 cr8) const;
    void acknowledge(u8 vector);
    bool has_pending() const;

    // Guest TSC at which the timer fires next, or 0 when disarmed.
    u64 timer_deadline() const { return timer_armed_ ? timer_deadline_ : 0; }

    bool software_enabled() const { return (svr_ & (1u << 8)) != 0; }

    // ---- State for the stream (schema LocalApic) ----
    struct State {
        u32 apic_id = 0;
        u32 svr = 0xFF;
        u32 irr[8] = {};
        u32 isr[8] = {};
        u32 tmr[8] = {};
        u32 esr = 0;
        u64 icr = 0;
        u32 lvt_timer = kLvtMasked;
        u32 lvt_thermal = kLvtMasked;
        u32 lvt_performance = kLvtMasked;
        u32 lvt_lint0 = kLvtMasked;
        u32 lvt_lint1 = kLvtMasked;
        u32 lvt_error = kLvtMasked;
        u32 lvt_cmci = kLvtMasked;
        u32 timer_divide = 0;
        u32 timer_initial_count = 0;
        u32 timer_current_count = 0;  // at `sampled_at`
        u64 sampled_at = 0;           // guest TSC
        u64 tsc_deadline = 0;
    };
    State save(u64 now) const;
    void restore(const State& state, u64 tsc_khz, u64 now);

private:
    u64 divisor() const;
    u64 bus_ticks_to_tsc(u64 ticks) const;
    u64 tsc_to_bus_ticks(u64 tsc) const;
    TimerMode timer_mode() const { return static_cast<TimerMode>((lvt_timer_ >> 17) & 3); }
    void start_count_timer(u32 count, u64 now);
    static int highest_bit(const u32 bits[8]);
    int highest_irr() const;
    u8 ppr(u8 cr8) const;

    u32 apic_id_ = 0;
    u64 tsc_khz_ = 1'000'000;
    u32 svr_ = 0xFF;
    std::atomic<u32> irr_[8] = {};
    u32 isr_[8] = {};
    u32 tmr_[8] = {};
    u32 esr_ = 0;
    u64 icr_ = 0;
    u32 lvt_timer_ = kLvtMasked;
    u32 lvt_thermal_ = kLvtMasked;
    u32 lvt_performance_ = kLvtMasked;
    u32 lvt_lint0_ = kLvtMasked;
    u32 lvt_lint1_ = kLvtMasked;
    u32 lvt_error_ = kLvtMasked;
    u32 lvt_cmci_ = kLvtMasked;
    u32 timer_divide_ = 0;
    u32 timer_initial_count_ = 0;
    bool timer_armed_ = false;
    u64 timer_start_ = 0;     // guest TSC when the count started (count modes)
    u64 timer_deadline_ = 0;  // guest TSC of the next expiry
    u64 tsc_deadline_ = 0;    // IA32_TSC_DEADLINE as written
};

}  // namespace relay
