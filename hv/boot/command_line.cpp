#include "hv/boot/command_line.hpp"

#include "lib/strings.hpp"

namespace relay {

const char* update_fault_name(UpdateFault fault) {
    switch (fault) {
        case UpdateFault::kNone:
            return "none";
        case UpdateFault::kStaging:
            return "staging";
        case UpdateFault::kPreflight:
            return "pre-flight";
        case UpdateFault::kQuiesce:
            return "quiesce";
        case UpdateFault::kSerialize:
            return "serialize";
        case UpdateFault::kHandoff:
            return "handoff";
        case UpdateFault::kTargetHeader:
            return "target-header";
        case UpdateFault::kTargetVerify:
            return "target-verify";
        case UpdateFault::kTargetRestore:
            return "target-restore";
        case UpdateFault::kTargetAdopt:
            return "target-adopt";
        case UpdateFault::kResume:
            return "resume";
    }
    return "?";
}

const char* test_fault_name(TestFault fault) {
    switch (fault) {
        case TestFault::kNone:
            return "none";
        case TestFault::kPageFault:
            return "page-fault";
        case TestFault::kGeneralProtection:
            return "general-protection";
        case TestFault::kInvalidOpcode:
            return "invalid-opcode";
        case TestFault::kDivideError:
            return "divide-error";
        case TestFault::kBreakpoint:
            return "breakpoint";
        case TestFault::kPanic:
            return "panic";
        case TestFault::kApPageFault:
            return "ap-page-fault";
        case TestFault::kStackOverflow:
            return "stack-overflow";
    }
    return "?";
}

namespace {

void parse_log_level(std::string_view value, CommandLineOptions* options,
                     CommandLineDiagnostics* diagnostics) {
    if (value == "error") {
        options->log_level = CommandLineLogLevel::kError;
    } else if (value == "warning") {
        options->log_level = CommandLineLogLevel::kWarning;
    } else if (value == "info") {
        options->log_level = CommandLineLogLevel::kInfo;
    } else if (value == "debug") {
        options->log_level = CommandLineLogLevel::kDebug;
    } else {
        diagnostics->add("loglevel: '{}' is not one of error, warning, info, debug", value);
    }
}

bool parse_port(std::string_view value, u16* port) {
    u64 number = 0;
    if (!parse_u64(value, &number) || number == 0 || number > 0xFFFF) {
        return false;
    }
    *port = static_cast<u16>(number);
    return true;
}

void parse_console(std::string_view value, CommandLineOptions* options,
                   CommandLineDiagnostics* diagnostics) {
    static constexpr struct {
        std::string_view name;
        u16 port;
    } kNamed[] = {{"com1", 0x3F8}, {"com2", 0x2F8}, {"com3", 0x3E8}, {"com4", 0x2E8}, {"none", 0}};
    for (const auto& named : kNamed) {
        if (value == named.name) {
            options->console_port = named.port;
            return;
        }
    }
    u16 port = 0;
    if (parse_port(value, &port)) {
        options->console_port = port;
        return;
    }
    diagnostics->add("console: '{}' is not com1..com4, none or an I/O port", value);
}

void parse_handover(std::string_view value, CommandLineOptions* options,
                    CommandLineDiagnostics* diagnostics) {
    usize at = value.find('@');
    std::string_view size_text = at == std::string_view::npos ? value : prefix_of(value, at);
    u64 size = 0;
    if (!parse_size(size_text, &size)) {
        diagnostics->add("handover: '{}' is not a size", size_text);
        return;
    }
    if (size < CommandLineOptions::kMinimumHandoverSize ||
        !is_aligned(size, CommandLineOptions::kHandoverAlignment)) {
        diagnostics->add("handover: size {:#x} must be a multiple of 4 MiB and at least 16 MiB",
                         size);
        return;
    }
    if (at != std::string_view::npos) {
        u64 base = 0;
        std::string_view base_text = suffix_from(value, at + 1);
        if (!parse_u64(base_text, &base) || !is_aligned(base, 2 * MiB) ||
            !HostPhysRange::fits(HostPhysAddr(base), size)) {
            diagnostics->add("handover: base '{}' is not a 2 MiB aligned address", base_text);
            return;
        }
        options->handover_fixed = true;
        options->handover_base = HostPhysAddr(base);
    }
    options->handover_size = size;
}

void parse_update_fault(std::string_view value, CommandLineOptions* options,
                        CommandLineDiagnostics* diagnostics) {
    for (u8 i = 1; i <= static_cast<u8>(UpdateFault::kResume); ++i) {
        auto fault = static_cast<UpdateFault>(i);
        if (value == update_fault_name(fault)) {
            options->test_update_fault = fault;
            return;
        }
    }
    diagnostics->add("test_fail_update: '{}' is not a live-update phase", value);
}

void parse_test_fault(std::string_view value, CommandLineOptions* options,
                      CommandLineDiagnostics* diagnostics) {
    for (u8 raw = 0; raw <= static_cast<u8>(TestFault::kStackOverflow); ++raw) {
        auto fault = static_cast<TestFault>(raw);
        if (value == test_fault_name(fault)) {
            options->test_fault = fault;
            return;
        }
    }
    diagnostics->add("test_fault: '{}' is not a known fault", value);
}

}  // namespace

CommandLineOptions parse_command_line(std::string_view command_line,
                                      CommandLineDiagnostics* diagnostics) {
    CommandLineOptions options;
    usize position = 0;
    std::string_view word;
    while (next_word(command_line, &position, &word)) {
        usize equals = word.find('=');
        if (equals == std::string_view::npos) {
            diagnostics->add("'{}' is not a key=value option; ignored", word);
            continue;
        }
        std::string_view key = prefix_of(word, equals);
        std::string_view value = suffix_from(word, equals + 1);
        if (key == "loglevel") {
            parse_log_level(value, &options, diagnostics);
        } else if (key == "console") {
            parse_console(value, &options, diagnostics);
        } else if (key == "handover") {
            parse_handover(value, &options, diagnostics);
        } else if (key == "max_cpus") {
            u64 count = 0;
            if (parse_u64(value, &count) && count >= 1 && count <= 4096) {
                options.max_cpus = static_cast<u32>(count);
            } else {
                diagnostics->add("max_cpus: '{}' is not a number from 1 to 4096", value);
            }
        } else if (key == "debug_exit") {
            u16 port = 0;
            if (value == "none") {
                options.debug_exit_port = 0;
            } else if (parse_port(value, &port)) {
                options.debug_exit_port = port;
            } else {
                diagnostics->add("debug_exit: '{}' is not an I/O port or none", value);
            }
        } else if (key == "test_fault") {
            parse_test_fault(value, &options, diagnostics);
        } else if (key == "test_fail_update") {
            parse_update_fault(value, &options, diagnostics);
        } else if (key == "test_corrupt") {
            u64 domid = 0;
            if (parse_u64(value, &domid) && domid >= 1 && domid < 0x7FF0) {
                options.test_corrupt_domid = static_cast<u16>(domid);
            } else {
                diagnostics->add("test_corrupt: '{}' is not a domid", value);
            }
        } else {
            diagnostics->add("unknown option '{}' ignored", key);
        }
    }
    return options;
}

}  // namespace relay
