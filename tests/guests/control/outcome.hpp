// The result of one control command: ok (with an optional detail), a RELAY_E* error from
// the hypervisor, a timeout (wait), or "stop" (the domain was shut down; only a host
// test's fake hypervisor lets shutdown return success).
#pragma once

#include "lib/format.hpp"
#include "lib/types.hpp"
#include "tests/guests/control/arguments.hpp"

namespace relay::guest::control {

struct Outcome {
    // Room for the longest info line: every field at its widest.
    static constexpr usize kDetailCapacity = 384;

    // kFailed: the guest itself could not do it (no such file in the ramdisk, ...).
    enum class Kind : u8 { kOk, kError, kTimeout, kStop, kFailed };

    Kind kind = Kind::kOk;
    i64 code = 0;  // RELAY_E* for kError
    FixedString<kDetailCapacity> detail;

    template <typename... Args>
    static Outcome ok(const char* fmt = "", const Args&... args) {
        Outcome outcome;
        outcome.detail = FixedString<kDetailCapacity>::formatted(fmt, args...);
        return outcome;
    }
    static Outcome error(i64 code) {
        Outcome outcome;
        outcome.kind = Kind::kError;
        outcome.code = code;
        return outcome;
    }
    template <typename... Args>
    static Outcome timeout(const char* fmt, const Args&... args) {
        Outcome outcome;
        outcome.kind = Kind::kTimeout;
        outcome.detail = FixedString<kDetailCapacity>::formatted(fmt, args...);
        return outcome;
    }
    template <typename... Args>
    static Outcome failed_here(const char* fmt, const Args&... args) {
        Outcome outcome;
        outcome.kind = Kind::kFailed;
        outcome.detail = FixedString<kDetailCapacity>::formatted(fmt, args...);
        return outcome;
    }
    static Outcome stop() {
        Outcome outcome;
        outcome.kind = Kind::kStop;
        return outcome;
    }
    // The hypercall's result: ok when >= 0.
    static Outcome from_result(i64 result) { return result >= 0 ? ok() : error(result); }

    bool failed() const {
        return kind == Kind::kError || kind == Kind::kTimeout || kind == Kind::kFailed;
    }
};

// "ok", "ok 4 domains", "error ENOENT (-2)", "error timeout (domain 4 is running)",
// "error (no file "x.elf" in the ramdisk)".
void describe(FormatOutput& output, const Outcome& outcome);

// "ok", "an error", "error ENOENT (-2)", "timeout".
void describe(FormatOutput& output, const Expectation& expectation);

bool matches(const Expectation& expectation, const Outcome& outcome);

}  // namespace relay::guest::control
