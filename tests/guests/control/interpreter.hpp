// Runs a control script against a ControlPlatform and prints one result line per
// command (docs/testing.md, "control", has every line format):
//   control: script: 6 commands
//   control: pause 3: ok
//   control: pause 9: error ENOENT (-2)
//   control: expect ENOENT pause 9: ok (error ENOENT (-2) as expected)
//   control: script done: 6 commands, 1 errors, 0 unexpected
// Shared: unit-tested on the host against a fake hypervisor.
#pragma once

#include <span>
#include <string_view>

#include "hv/abi/hypercall.h"
#include "lib/format.hpp"
#include "lib/types.hpp"
#include "tests/guests/control/control_platform.hpp"
#include "tests/guests/control/outcome.hpp"
#include "tests/guests/control/script.hpp"

namespace relay::guest::control {

inline constexpr std::string_view kProgramName = "control";
inline constexpr usize kLineCapacity = 512;
inline constexpr usize kDomainListCapacity = 64;

// Memory the interpreter works in: too large for a guest's stack, so the caller provides
// it (a guest: a static object).
struct Workspace {
    Script script;
    relay_domain_entry domains[kDomainListCapacity];
};

struct ScriptSummary {
    bool accepted = false;  // the script parsed; nothing ran otherwise
    usize commands = 0;
    usize errors = 0;      // commands that failed without an expect
    usize unexpected = 0;  // expect lines whose result differed
    bool stopped = false;  // a shutdown returned success (host tests only)
};

class Interpreter {
public:
    Interpreter(ControlPlatform& platform, Workspace& workspace)
        : platform_(platform), workspace_(workspace) {}

    // Reads the script; when it parses, runs every command. Prints the script, result,
    // and done (or rejected) lines.
    ScriptSummary run(std::string_view script_text);

    // Prints "control: <formatted>".
    template <typename... Args>
    void line(const char* fmt, const Args&... args) {
        char buffer[kLineCapacity];
        FormatBuffer output(buffer, sizeof(buffer));
        format(output, "{}: ", kProgramName);
        format(output, fmt, args...);
        platform_.write_line(output.view());
    }

    ControlPlatform& platform() { return platform_; }
    std::span<relay_domain_entry> domain_buffer() { return workspace_.domains; }

private:
    void report(const Command& command, const Outcome& outcome, ScriptSummary* summary);

    ControlPlatform& platform_;
    Workspace& workspace_;
};

}  // namespace relay::guest::control
