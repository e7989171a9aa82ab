#include "hv/panic.hpp"

#include <atomic>

#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/interrupts.hpp"
#include "hv/console.hpp"
#include "hv/percpu.hpp"
#include "hv/shutdown.hpp"

namespace relay {

namespace {
std::atomic<bool> panicking{false};
}

bool panic_in_progress() {
    return panicking.load(std::memory_order_relaxed);
}

void panic_with_message(const char* message) {
    x86::interrupts_disable();
    if (panicking.exchange(true)) {
        // A second CPU (or a fault inside the panic path): stay out of the way.
        x86::halt_forever();
    }
    // Stop the other CPUs so the report is the last word.
    x86::send_nmi_to_others();
    console::enter_panic_mode();
    PerCpu& cpu = this_cpu();
    log_error("PANIC on cpu {}: {}", cpu.index, message);
    log_error("  stack trace:");
    x86::print_stack_trace(0, x86::read_rbp(), cpu.stack_low, cpu.stack_high);
    system_shutdown(ShutdownStatus::kPanic);
}

}  // namespace relay
