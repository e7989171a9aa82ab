// The kinds of argument control script commands take, and how each is written
// (docs/testing.md, "control"). Parsed when the script is read, so that a typo stops the
// script before its first command runs.
#pragma once

#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest::control {

enum class ArgumentKind : u8 {
    kNone,
    kDomid,           // 0 to 65535, decimal or 0x hexadecimal
    kSeconds,         // "2", "0.5", "1.25": up to 6 decimals, at most 1000000 s
    kState,           // a lifecycle ("running", "paused", ...) or "gone" (no such domain)
    kShutdownReason,  // "poweroff", "reboot", "crash", or a number
    kText,            // the rest of the command, spaces included
    kFileName,        // a file in the ramdisk: 1 to 100 printable characters, no spaces
    kCount,           // 1 to 100000, decimal
};

// What the usage line calls the kind: "DOMID", "SECONDS", ...
const char* argument_kind_name(ArgumentKind kind);

struct ArgumentValue {
    u64 number = 0;  // domid, microseconds, lifecycle, reason
    std::string_view text;
};

// A state `wait` can wait for besides the lifecycles: the domain no longer exists.
inline constexpr u64 kStateGone = 0x100;

Status parse_argument(ArgumentKind kind, std::string_view word, ArgumentValue* value);

// Seconds with up to 6 decimals, as microseconds.
bool parse_seconds(std::string_view text, u64* microseconds);

// What `expect RESULT COMMAND` checks the command's result against.
struct Expectation {
    enum class Kind : u8 { kNone, kOk, kAnyError, kError, kTimeout };
    Kind kind = Kind::kNone;
    i64 code = 0;  // for kError
};

// "ok", "error" (any error), "timeout", an error name ("ENOENT") or value ("-2").
Status parse_expectation(std::string_view word, Expectation* expectation);

}  // namespace relay::guest::control
