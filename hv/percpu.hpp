// Per-CPU data, reached through GS (MSR_GS_BASE points at the CPU's PerCpu; its first
// field points at itself so `mov %gs:0` yields the structure).
#pragma once

#include <atomic>

#include "hv/arch/x86/descriptors.hpp"
#include "lib/address.hpp"
#include "lib/types.hpp"

namespace relay {

inline constexpr u32 kMaxCpus = 64;

struct PerCpu {
    PerCpu* self = nullptr;  // must stay first: %gs:0
    u32 index = 0;           // 0 = bootstrap processor
    u32 apic_id = 0;
    u64 stack_low = 0;  // current kernel stack, for stack-trace bounds
    u64 stack_high = 0;
    u64 ist_stack_top[3] = {};
    std::atomic<bool> online{false};
    x86::Gdt gdt;
    x86::Tss tss;

    // SVM (hv/arch/x86/svm/svm.hpp).
    HostPhysAddr svm_host_save_area;  // VM_HSAVE_PA
    HostPhysAddr svm_host_state;      // VMSAVE/VMLOAD page for host FS/GS/TR/...

    // Scheduler (hv/scheduler.hpp).
    struct Scheduler* scheduler = nullptr;
};

// Every CPU's PerCpu, indexed by CPU number (static storage: no allocation needed to
// bring a CPU up).
PerCpu& cpu_data(u32 index);
u32 cpus_online();
void set_cpus_online(u32 count);

// Points GS at `cpu` (MSR_GS_BASE).
void install_percpu(PerCpu& cpu);

inline PerCpu& this_cpu() {
    PerCpu* self;
    asm volatile("mov %%gs:0, %0" : "=r"(self));
    return *self;
}

}  // namespace relay
