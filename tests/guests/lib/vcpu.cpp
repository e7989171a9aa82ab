#include "tests/guests/lib/vcpu.hpp"

#include <atomic>

#include "hv/abi/hypercall.h"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/idt.hpp"
#include "tests/guests/lib/time.hpp"

extern "C" {
extern char guest_vcpu_stacks[];
extern char guest_vcpu_stacks_end[];
void guest_secondary_vcpu_entry();
}

namespace relay::guest {

namespace {

// What a secondary vCPU runs; RDI points here when it starts.
struct VcpuLaunch {
    void (*entry)(void*) = nullptr;
    void* context = nullptr;
    std::atomic<bool> requested{false};
    std::atomic<bool> running{false};
};

VcpuLaunch g_launches[kMaxVcpus];
// The hypervisor reads the start record during the hypercall; it lives here rather than
// on the caller's stack so that a hypervisor that reads it later still finds it.
relay_vcpu_start g_start_records[kMaxVcpus];
u32 g_usable_vcpus = 1;

}  // namespace

u32 current_vcpu() {
    uptr stack = read_stack_pointer();
    uptr base = reinterpret_cast<uptr>(guest_vcpu_stacks);
    uptr end = reinterpret_cast<uptr>(guest_vcpu_stacks_end);
    if (stack <= base || stack > end) {
        // Only the builder's boot stack, before _start moves off it, is outside the table.
        return 0;
    }
    return static_cast<u32>((stack - base - 1) / GUEST_VCPU_STACK_SIZE);
}

u32 usable_vcpus() {
    return g_usable_vcpus;
}

void vcpus_init(u32 domain_vcpus) {
    g_usable_vcpus = domain_vcpus < kMaxVcpus ? domain_vcpus : kMaxVcpus;
    if (g_usable_vcpus == 0) {
        g_usable_vcpus = 1;
    }
    g_launches[0].running.store(true, std::memory_order_relaxed);
}

i64 vcpu_up(u32 vcpu_id, void (*entry)(void*), void* context) {
    if (vcpu_id == 0 || vcpu_id >= g_usable_vcpus || entry == nullptr) {
        return RELAY_EINVAL;
    }
    VcpuLaunch& launch = g_launches[vcpu_id];
    if (launch.requested.exchange(true, std::memory_order_acq_rel)) {
        return RELAY_EBUSY;
    }
    launch.entry = entry;
    launch.context = context;
    relay_vcpu_start& start = g_start_records[vcpu_id];
    start = relay_vcpu_start{};
    start.rip = reinterpret_cast<uptr>(&guest_secondary_vcpu_entry);
    start.rsp = reinterpret_cast<uptr>(guest_vcpu_stacks) +
                (static_cast<u64>(vcpu_id) + 1) * GUEST_VCPU_STACK_SIZE;
    start.rdi = reinterpret_cast<uptr>(&launch);
    i64 result = hc::vcpu_up(vcpu_id, &start);
    if (result < 0) {
        launch.requested.store(false, std::memory_order_release);
    }
    return result;
}

bool vcpu_running(u32 vcpu_id) {
    return vcpu_id < kMaxVcpus && g_launches[vcpu_id].running.load(std::memory_order_acquire);
}

}  // namespace relay::guest

// A secondary vCPU's first C++ code (entry.S), on its own stack.
extern "C" [[noreturn]] void guest_secondary_vcpu_start(void* record) {
    using namespace relay::guest;
    auto* launch = static_cast<VcpuLaunch*>(record);
    idt_load();
    launch->running.store(true, std::memory_order_release);
    launch->entry(launch->context);
    idle_forever();
}
