// A control script (docs/testing.md, "control"): commands separated by ';', words by
// spaces; `expect RESULT` in front of a command checks its result. The whole script is
// read and checked (command names, argument counts and values) before anything runs, so
// that a typo in the last command does not surface after the first ones have paused
// domains. Shared: unit-tested on the host.
#pragma once

#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"
#include "tests/guests/control/arguments.hpp"

namespace relay::guest::control {

struct CommandSpec;

inline constexpr usize kMaxCommands = 128;
inline constexpr usize kMaxCommandArguments = 4;
inline constexpr usize kMaxLoopDepth = 4;

struct Command {
    const CommandSpec* spec = nullptr;
    std::string_view text;  // as written, without surrounding spaces (and with its expect)
    Expectation expectation;
    ArgumentValue arguments[kMaxCommandArguments];
    usize argument_count = 0;
    usize partner = 0;  // loop: index of its end; end: index of its loop
};

struct Script {
    Command commands[kMaxCommands];
    usize count = 0;
};

// Reads `text` into `script`; `loop COUNT` ... `end` must pair up (nested at most
// kMaxLoopDepth deep). The error names the command by position and text:
//   command 3 ("pase 3"): unknown command "pase" (commands: list, info, ...)
Status parse_script(std::string_view text, Script* script);

// One command without the ';' (exposed for tests and for nested parsing).
Status parse_command(std::string_view text, Command* command);

}  // namespace relay::guest::control
