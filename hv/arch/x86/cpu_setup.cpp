#include "hv/arch/x86/cpu_setup.hpp"

#include "hv/arch/x86/cpu.hpp"

namespace relay::x86 {

void setup_cpu_features() {
    u64 cr0 = read_cr0();
    cr0 |= kCr0Ne | kCr0Wp | kCr0Mp;
    cr0 &= ~(kCr0Cd | kCr0Nw | kCr0Em | kCr0Ts);
    write_cr0(cr0);
    write_cr4(read_cr4() | kCr4Pge | kCr4Osfxsr | kCr4Osxmmexcpt);
    wrmsr(kMsrEfer, rdmsr(kMsrEfer) | kEferNxe);
}

}  // namespace relay::x86
