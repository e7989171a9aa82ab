#include "hv/percpu.hpp"

#include "hv/arch/x86/cpu.hpp"

namespace relay {

namespace {
PerCpu cpus[kMaxCpus];
std::atomic<u32> online_count{0};
}  // namespace

PerCpu& cpu_data(u32 index) {
    return cpus[index];
}

u32 cpus_online() {
    return online_count.load(std::memory_order_acquire);
}

void set_cpus_online(u32 count) {
    online_count.store(count, std::memory_order_release);
}

void install_percpu(PerCpu& cpu) {
    cpu.self = &cpu;
    x86::wrmsr(x86::kMsrGsBase, reinterpret_cast<u64>(&cpu));
}

}  // namespace relay
