// The boot vCPU's path from _start (entry.S) to guest_main.
#include "hv/abi/hypercall.h"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/idt.hpp"
#include "tests/guests/lib/shutdown.hpp"
#include "tests/guests/lib/time.hpp"
#include "tests/guests/lib/vcpu.hpp"

extern "C" {
using Constructor = void (*)();
extern const Constructor __init_array_start[];
extern const Constructor __init_array_end[];
}

namespace relay::guest {

namespace {

// Keys the library reads from every guest's command line.
constexpr std::string_view kLibraryArguments[] = {"console"};

StartInfo g_start_info;
CommandLine g_command_line;

void run_constructors() {
    for (const Constructor* constructor = __init_array_start; constructor != __init_array_end;
         ++constructor) {
        (*constructor)();
    }
}

ConsoleBackend console_backend_from(const CommandLine& line) {
    std::string_view choice = line.value_or("console", "uart");
    if (choice == "hypercall") {
        return ConsoleBackend::kHypercall;
    }
    if (choice != "uart") {
        log_line("warning: console=\"{}\" is neither uart nor hypercall; using the UART", choice);
    }
    return ConsoleBackend::kUart;
}

}  // namespace

const StartInfo& start_info() {
    return g_start_info;
}

const CommandLine& command_line() {
    return g_command_line;
}

}  // namespace relay::guest

extern "C" [[noreturn]] void guest_boot_vcpu_start(relay::u64 start_info_address) {
    using namespace relay;
    using namespace relay::guest;
    run_constructors();
    // The IDT first: from here on a fault prints a report (on the UART at 0x3F8 until the
    // start info names the console) rather than triple-faulting.
    idt_install();
    idt_load();

    Result<StartInfo> validated = StartInfo::validate(start_info_address);
    if (!validated.ok()) {
        emergency_log_line("cannot start: {}", validated.error().message());
        shutdown(RELAY_SHUTDOWN_CRASH);
    }
    g_start_info = validated.value();
    const StartInfo& info = g_start_info;
    console_init(info.console_port(), ConsoleBackend::kUart);
    time_init(info.tsc_frequency_khz());
    vcpus_init(info.vcpus());

    Result<CommandLine> parsed =
        CommandLine::parse(info.command_line(), kGuestProgram.rest_of_line_arguments);
    if (!parsed.ok()) {
        panic("{}", parsed.error().message());
    }
    g_command_line = parsed.value();
    console_init(info.console_port(), console_backend_from(g_command_line));

    log_line(
        "domain {} \"{}\": {} vCPU{}, {} KiB RAM, TSC {} kHz, start info v{}, command "
        "line \"{}\"",
        info.domid(), info.name(), info.vcpus(), info.vcpus() == 1 ? "" : "s",
        info.memory_size() / KiB, tsc_khz(), info.version(), info.command_line());
    if (tsc_rate_assumed()) {
        log_line("warning: the start info gives no TSC rate; assuming {} kHz", tsc_khz());
    }
    if (info.vcpus() > kMaxVcpus) {
        log_line("warning: the domain has {} vCPUs; this guest runs {}", info.vcpus(), kMaxVcpus);
    }
    if (const CommandLine::Argument* unknown =
            g_command_line.first_unknown(kGuestProgram.arguments, kLibraryArguments)) {
        log_line("warning: unknown argument \"{}\" ignored", unknown->key);
    }

    guest_main(info);
    log_line("guest_main returned: powering off");
    shutdown(RELAY_SHUTDOWN_POWEROFF);
}
