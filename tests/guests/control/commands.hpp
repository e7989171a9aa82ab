// The control script's commands, in one table (docs/testing.md, "control", lists them
// with their output). Adding a command is adding a row and its handler in commands.cpp:
// the parser checks arguments by the row, the interpreter runs the handler.
#pragma once

#include <span>
#include <string_view>

#include "lib/format.hpp"
#include "tests/guests/control/arguments.hpp"
#include "tests/guests/control/outcome.hpp"
#include "tests/guests/control/script.hpp"

namespace relay::guest::control {

class Interpreter;

using CommandHandler = Outcome (*)(const Command& command, Interpreter& interpreter);

// Commands that steer the script rather than call the hypervisor (interpreter.cpp).
enum class Flow : u8 { kNone, kLoop, kEnd };

struct CommandSpec {
    const char* name;
    // Argument kinds in order, kNone-terminated; the first `required` must be given.
    ArgumentKind arguments[kMaxCommandArguments];
    u8 required;
    CommandHandler run;
    Flow flow = Flow::kNone;
};

std::span<const CommandSpec> command_table();
const CommandSpec* find_command(std::string_view name);

// "wait DOMID STATE [SECONDS]".
FixedString<64> command_usage(const CommandSpec& spec);

}  // namespace relay::guest::control
