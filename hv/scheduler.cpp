#include "hv/scheduler.hpp"

#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/interrupts.hpp"
#include "hv/arch/x86/svm/svm.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/exit_handler.hpp"
#include "hv/extended_state.hpp"
#include "hv/iommu_host.hpp"
#include "hv/lib/spinlock.hpp"
#include "hv/percpu.hpp"
#include "hv/test_hooks.hpp"
#include "hv/virtual_lapic.hpp"

extern "C" void relay_svm_run(relay::u64 guest_vmcb_pa, relay::GuestRegisters* registers,
                              relay::u64 host_state_pa);

namespace relay {

struct Scheduler {
    Spinlock lock;
    Vcpu* queue[kMaxVcpus] = {};
    u32 count = 0;
    u32 cursor = 0;
    std::atomic<Vcpu*> current{nullptr};
    std::atomic<bool> need_resched{false};
    u64 slice_start = 0;
    Vcpu* last_run = nullptr;  // ASIDs may be shared: flush when this changes
    u64 ticks = 0;
};

namespace {

Scheduler schedulers[kMaxCpus];

// CPU rendezvous (scheduler_hold_other_cpus): 0 run, 1 hold, 2 leave through hold_action.
std::atomic<u32> hold_state{0};
std::atomic<u32> held_cpus{0};
void (*hold_action)() = nullptr;
std::atomic<void (*)(u64)> first_entry_hook{nullptr};

// Interrupts disabled, on a CPU between vCPUs.
void hold_here() {
    held_cpus.fetch_add(1, std::memory_order_acq_rel);
    for (;;) {
        u32 state = hold_state.load(std::memory_order_acquire);
        if (state == 0) {
            held_cpus.fetch_sub(1, std::memory_order_acq_rel);
            return;
        }
        if (state == 2) {
            hold_action();
        }
        x86::enable_and_halt();
        x86::interrupts_disable();
    }
}

void kick_other_cpus() {
    u32 self = this_cpu().index;
    for (u32 cpu = 0; cpu < kMaxCpus; ++cpu) {
        if (cpu != self && cpu_data(cpu).online.load(std::memory_order_acquire) &&
            cpu_data(cpu).scheduler != nullptr) {
            schedulers[cpu].need_resched.store(true, std::memory_order_relaxed);
            x86::send_fixed_ipi(cpu_data(cpu).apic_id, kKickVector);
        }
    }
}

Scheduler& this_scheduler() {
    return *this_cpu().scheduler;
}

void on_tick(x86::InterruptFrame&) {
    Scheduler& s = this_scheduler();
    ++s.ticks;
    if (this_cpu().index == 0) {
        test_hooks_tick();
    }
    if (x86::rdtsc() - s.slice_start >= x86::microseconds_to_tsc(kSliceMicroseconds)) {
        s.need_resched.store(true, std::memory_order_relaxed);
    }
    x86::local_apic_eoi();
}

void on_kick(x86::InterruptFrame&) {
    this_scheduler().need_resched.store(true, std::memory_order_relaxed);
    x86::local_apic_eoi();
}

bool runnable(const Vcpu& vcpu) {
    return vcpu.state() == VcpuRunState::kRunning &&
           vcpu.domain->lifecycle.load(std::memory_order_acquire) == DomainLifecycle::kRunning &&
           !vcpu.domain->paused();
}

Vcpu* pick_next(Scheduler& s) {
    SpinlockGuard guard(s.lock);
    for (u32 i = 0; i < s.count; ++i) {
        u32 index = (s.cursor + i) % s.count;
        Vcpu* candidate = s.queue[index];
        // A halted vCPU becomes runnable when an interrupt it can take is pending (its
        // APIC timer is polled here, on its own CPU).
        if (candidate->state() == VcpuRunState::kHalted &&
            candidate->domain->lifecycle.load(std::memory_order_acquire) ==
                DomainLifecycle::kRunning) {
            lapic_wake_if_interrupted(*candidate);
        }
        if (runnable(*candidate)) {
            s.cursor = (index + 1) % s.count;
            return candidate;
        }
    }
    return nullptr;
}

// Runs `vcpu` until its slice ends, it blocks, or it can no longer run.
void run_vcpu(Scheduler& s, Vcpu& vcpu) {
    // Announce the vCPU is loaded, then check the pause count: with sequentially
    // consistent accesses on both sides, a concurrent domain_pause either sees on_cpu (and
    // waits for it to drop) or we see its pause (hv/domain_control.cpp).
    vcpu.on_cpu.store(true, std::memory_order_seq_cst);
    if (vcpu.domain->paused()) {
        vcpu.on_cpu.store(false, std::memory_order_release);
        return;
    }
    extended_state_switch_to(vcpu);
    asm volatile(
        "mov %0, %%dr0; mov %1, %%dr1; mov %2, %%dr2; mov %3, %%dr3" ::"r"(vcpu.debug_address[0]),
        "r"(vcpu.debug_address[1]), "r"(vcpu.debug_address[2]), "r"(vcpu.debug_address[3]));
    bool unique_asids = svm::features().asid_count > kMaxVcpus;
    if (!unique_asids && s.last_run != &vcpu) {
        vcpu.flush_tlb = true;
    }
    s.last_run = &vcpu;
    s.slice_start = x86::rdtsc();
    s.need_resched.store(false, std::memory_order_relaxed);
    HostPhysAddr host_state = svm::host_state_page();
    while (runnable(vcpu) && !s.need_resched.load(std::memory_order_relaxed)) {
        if (vcpu.flush_tlb) {
            vcpu.vmcb->tlb_control = 1;
            vcpu.flush_tlb = false;
        }
        prepare_entry(vcpu);
        if (first_entry_hook.load(std::memory_order_relaxed) != nullptr) {
            u64 now = x86::rdtsc();
            if (auto* hook = first_entry_hook.exchange(nullptr, std::memory_order_acq_rel)) {
                hook(now);
            }
        }
        u64 entered = x86::rdtsc();
        asm volatile("clgi" ::: "memory");
        x86::interrupts_enable();  // GIF=0 holds interrupts until the guest runs
        relay_svm_run(vcpu.vmcb_pa.raw(), &vcpu.regs, host_state.raw());
        x86::interrupts_disable();
        asm volatile("stgi" ::: "memory");
        vcpu.guest_tsc_ticks += x86::rdtsc() - entered;
        vcpu.vmcb->tlb_control = 0;
        ++vcpu.exits;
        vcpu.domain->exits.fetch_add(1, std::memory_order_relaxed);
        handle_exit(vcpu);
        // Let a pending interrupt (tick, kick) in: STI takes effect after the next
        // instruction, hence the NOP.
        asm volatile("sti; nop; cli" ::: "memory");
    }
    extended_state_save(vcpu);
    asm volatile("mov %%dr0, %0; mov %%dr1, %1; mov %%dr2, %2; mov %%dr3, %3"
                 : "=r"(vcpu.debug_address[0]), "=r"(vcpu.debug_address[1]),
                   "=r"(vcpu.debug_address[2]), "=r"(vcpu.debug_address[3]));
    vcpu.on_cpu.store(false, std::memory_order_release);
}

u32 least_loaded_cpu() {
    u32 best = 0;
    u32 best_count = ~0u;
    for (u32 cpu = 0; cpu < kMaxCpus; ++cpu) {
        if (!cpu_data(cpu).online.load(std::memory_order_acquire) ||
            cpu_data(cpu).scheduler == nullptr) {
            continue;
        }
        u32 count = schedulers[cpu].count;
        if (count < best_count) {
            best = cpu;
            best_count = count;
        }
    }
    return best;
}

}  // namespace

Status scheduler_init_this_cpu(u32 apic_ticks_per_ms) {
    PerCpu& cpu = this_cpu();
    cpu.scheduler = &schedulers[cpu.index];
    x86::set_interrupt_handler(kTickVector, on_tick);
    x86::set_interrupt_handler(kKickVector, on_kick);
    u64 count = static_cast<u64>(apic_ticks_per_ms) * kTickMicroseconds / 1000;
    x86::local_apic_timer_periodic(kTickVector,
                                   count > 0xFFFFFFFF ? 0xFFFFFFFF : static_cast<u32>(count));
    return ok_status();
}

Status scheduler_add(Vcpu& vcpu) {
    u32 cpu = least_loaded_cpu();
    Scheduler& s = schedulers[cpu];
    {
        SpinlockGuard guard(s.lock);
        if (s.count == kMaxVcpus) {
            return make_error(ErrorCode::kOutOfMemory, "run queue of cpu {} is full", cpu);
        }
        vcpu.pcpu = cpu;
        s.queue[s.count++] = &vcpu;
    }
    scheduler_kick(vcpu);
    return ok_status();
}

void scheduler_remove(Vcpu& vcpu) {
    Scheduler& s = schedulers[vcpu.pcpu];
    {
        SpinlockGuard guard(s.lock);
        for (u32 i = 0; i < s.count; ++i) {
            if (s.queue[i] == &vcpu) {
                s.queue[i] = s.queue[s.count - 1];
                --s.count;
                s.cursor = s.count == 0 ? 0 : s.cursor % s.count;
                break;
            }
        }
    }
    // The CPU may still have this vCPU loaded: wait until it lets go.
    while (vcpu.on_cpu.load(std::memory_order_acquire)) {
        scheduler_kick(vcpu);
        x86::cpu_relax();
    }
}

void scheduler_kick(const Vcpu& vcpu) {
    if (vcpu.pcpu == this_cpu().index) {
        schedulers[vcpu.pcpu].need_resched.store(true, std::memory_order_relaxed);
        return;
    }
    x86::send_fixed_ipi(cpu_data(vcpu.pcpu).apic_id, kKickVector);
}

u32 scheduler_queue_length(u32 cpu) {
    return schedulers[cpu].count;
}

bool scheduler_hold_other_cpus(u64 timeout_microseconds) {
    u32 others = cpus_online() - 1;
    hold_state.store(1, std::memory_order_release);
    kick_other_cpus();
    u64 deadline = x86::rdtsc() + x86::microseconds_to_tsc(timeout_microseconds);
    while (held_cpus.load(std::memory_order_acquire) < others) {
        if (x86::rdtsc() > deadline) {
            log_error("{} of {} CPUs stopped for the rendezvous", held_cpus.load(), others);
            scheduler_release_other_cpus();
            return false;
        }
        x86::cpu_relax();
    }
    return true;
}

void scheduler_release_other_cpus() {
    hold_state.store(0, std::memory_order_release);
    kick_other_cpus();
    while (held_cpus.load(std::memory_order_acquire) != 0) {
        x86::cpu_relax();
    }
}

void scheduler_send_held_cpus_to(void (*action)()) {
    hold_action = action;
    hold_state.store(2, std::memory_order_release);
    kick_other_cpus();
}

void scheduler_set_first_entry_hook(void (*hook)(u64 tsc)) {
    first_entry_hook.store(hook, std::memory_order_release);
}

void scheduler_run() {
    Scheduler& s = this_scheduler();
    x86::interrupts_disable();
    for (;;) {
        if (hold_state.load(std::memory_order_acquire) != 0) {
            hold_here();
        }
        if (this_cpu().index == 0) {
            iommu_host::poll_events();  // fault reports (rate-limited inside)
        }
        Vcpu* next = pick_next(s);
        if (next == nullptr) {
            // Idle: halt until the tick or a kick (STI;HLT cannot miss the wake-up).
            x86::enable_and_halt();
            x86::interrupts_disable();
            continue;
        }
        s.current.store(next, std::memory_order_release);
        run_vcpu(s, *next);
        s.current.store(nullptr, std::memory_order_release);
    }
}

}  // namespace relay
