// The hypervisor command line, parsed into typed options (docs/boot.md, "Command line").
// Options are space-separated key=value words. An unknown key or a bad value never stops
// the boot: it is reported as a diagnostic and the default stays in force.
#pragma once

#include <string_view>

#include "lib/address.hpp"
#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay {

enum class CommandLineLogLevel : u8 { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

// Deliberate faults for tests of the exception and failure paths.
enum class TestFault : u8 {
    kNone,
    kPageFault,          // read from an unmapped address
    kGeneralProtection,  // load a non-canonical address
    kInvalidOpcode,      // ud2
    kDivideError,        // divide by zero
    kBreakpoint,         // int3
    kPanic,              // panic() with a message
    kApPageFault,        // page fault on the first application processor
    kStackOverflow,      // unbounded recursion into the guard page (double fault on IST)
};

const char* test_fault_name(TestFault fault);

// Test only: a live update fails on purpose at one phase (docs/reliability.md). Phases
// before the jump fail in the running build; target phases fail in the build that
// receives a live-update stream (not in one that receives a stream back).
enum class UpdateFault : u8 {
    kNone,
    kStaging,        // kexec_stage refuses the image
    kPreflight,      // the pre-flight refuses the target
    kQuiesce,        // the CPUs do not stop in time
    kSerialize,      // writing the stream fails
    kHandoff,        // the staged image changes before purgatory checks it
    kTargetHeader,   // the target finds the stream header bad
    kTargetVerify,   // the target's verifier refuses the stream
    kTargetRestore,  // the target cannot restore the second domain
    kTargetAdopt,    // no restored domain took over its assigned functions' IOMMU entries
    kResume,         // the target fails after restoring, before any vCPU runs
};

const char* update_fault_name(UpdateFault fault);

struct CommandLineOptions {
    static constexpr u64 kDefaultHandoverSize = 64 * MiB;
    static constexpr u64 kHandoverAlignment = 4 * MiB;  // two halves, each 2 MiB aligned
    static constexpr u64 kMinimumHandoverSize = 16 * MiB;

    CommandLineLogLevel log_level = CommandLineLogLevel::kInfo;
    u16 console_port = 0x3F8;  // 0: no serial console
    u64 handover_size = kDefaultHandoverSize;
    bool handover_fixed = false;  // handover=SIZE@ADDRESS: place it exactly there
    HostPhysAddr handover_base;
    u32 max_cpus = 0;            // 0: every CPU ACPI reports
    u16 debug_exit_port = 0xF4;  // isa-debug-exit probe port; 0 disables
    TestFault test_fault = TestFault::kNone;
    // Test only: flip one bit of this domain's RAM two seconds after the domains start,
    // to prove memory checks detect corruption (0: off).
    u16 test_corrupt_domid = 0;
    UpdateFault test_update_fault = UpdateFault::kNone;  // test_fail_update=PHASE
};

struct CommandLineDiagnostics {
    static constexpr usize kMaxMessages = 8;
    static constexpr usize kMessageCapacity = 160;
    usize count = 0;
    usize dropped = 0;
    char messages[kMaxMessages][kMessageCapacity] = {};

    template <typename... Args>
    void add(const char* fmt, const Args&... args) {
        if (count == kMaxMessages) {
            ++dropped;
            return;
        }
        format_to_buffer(messages[count++], kMessageCapacity, fmt, args...);
    }
};

CommandLineOptions parse_command_line(std::string_view command_line,
                                      CommandLineDiagnostics* diagnostics);

}  // namespace relay
