#include "tests/guests/control/arguments.hpp"

#include "lib/strings.hpp"
#include "tests/guests/lib/abi_names.hpp"

namespace relay::guest::control {

namespace {

constexpr u64 kMaxDomid = 0xFFFF;
constexpr u64 kMaxSeconds = 1'000'000;
constexpr usize kMaxFileName = 100;
constexpr u64 kMaxCount = 100'000;

}  // namespace

const char* argument_kind_name(ArgumentKind kind) {
    switch (kind) {
        case ArgumentKind::kNone:
            return "";
        case ArgumentKind::kDomid:
            return "DOMID";
        case ArgumentKind::kSeconds:
            return "SECONDS";
        case ArgumentKind::kState:
            return "STATE";
        case ArgumentKind::kShutdownReason:
            return "REASON";
        case ArgumentKind::kText:
            return "TEXT";
        case ArgumentKind::kFileName:
            return "FILE";
        case ArgumentKind::kCount:
            return "COUNT";
    }
    return "?";
}

bool parse_seconds(std::string_view text, u64* microseconds) {
    usize dot = text.find('.');
    std::string_view whole = dot == std::string_view::npos ? text : prefix_of(text, dot);
    std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : suffix_from(text, dot + 1);
    if (whole.empty() || (dot != std::string_view::npos && fraction.empty()) ||
        fraction.size() > 6) {
        return false;
    }
    for (char c : whole) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    u64 seconds = 0;
    if (!parse_u64(whole, &seconds) || seconds > kMaxSeconds) {
        return false;
    }
    u64 fraction_microseconds = 0;
    u64 scale = 100'000;
    for (char c : fraction) {
        if (c < '0' || c > '9') {
            return false;
        }
        fraction_microseconds += static_cast<u64>(c - '0') * scale;
        scale /= 10;
    }
    u64 total = seconds * 1'000'000 + fraction_microseconds;
    if (total > kMaxSeconds * 1'000'000) {
        return false;
    }
    *microseconds = total;
    return true;
}

Status parse_argument(ArgumentKind kind, std::string_view word, ArgumentValue* value) {
    value->text = word;
    switch (kind) {
        case ArgumentKind::kDomid:
            if (!parse_u64(word, &value->number) || value->number > kMaxDomid) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "\"{}\" is not a domain id (0 to 65535, decimal or 0x hex)",
                                  word);
            }
            return ok_status();
        case ArgumentKind::kSeconds:
            if (!parse_seconds(word, &value->number)) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "\"{}\" is not a time in seconds (0 to 1000000, up to 6 "
                                  "decimals: 2, 0.5)",
                                  word);
            }
            return ok_status();
        case ArgumentKind::kState: {
            u8 lifecycle = 0;
            if (word == "gone") {
                value->number = kStateGone;
                return ok_status();
            }
            if (!parse_lifecycle(word, &lifecycle)) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "\"{}\" is not a domain state (configured, running, paused, "
                                  "crashed, shut-down, gone)",
                                  word);
            }
            value->number = lifecycle;
            return ok_status();
        }
        case ArgumentKind::kShutdownReason:
            if (!parse_shutdown_reason(word, &value->number) && !parse_u64(word, &value->number)) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "\"{}\" is not a shutdown reason (poweroff, reboot, crash, or "
                                  "a number)",
                                  word);
            }
            return ok_status();
        case ArgumentKind::kFileName: {
            bool printable = !word.empty() && word.size() <= kMaxFileName;
            for (char c : word) {
                printable = printable && c > ' ' && c < 0x7f;
            }
            if (!printable) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "\"{}\" is not a file name (1 to {} printable characters)", word,
                                  kMaxFileName);
            }
            return ok_status();
        }
        case ArgumentKind::kCount:
            if (!parse_u64(word, &value->number) || value->number == 0 ||
                value->number > kMaxCount) {
                return make_error(ErrorCode::kInvalidArgument, "\"{}\" is not a count (1 to {})",
                                  word, kMaxCount);
            }
            return ok_status();
        case ArgumentKind::kText:
        case ArgumentKind::kNone:
            return ok_status();
    }
    return ok_status();
}

Status parse_expectation(std::string_view word, Expectation* expectation) {
    if (word == "ok") {
        expectation->kind = Expectation::Kind::kOk;
    } else if (word == "error") {
        expectation->kind = Expectation::Kind::kAnyError;
    } else if (word == "timeout") {
        expectation->kind = Expectation::Kind::kTimeout;
    } else if (parse_error_code(word, &expectation->code)) {
        expectation->kind = Expectation::Kind::kError;
    } else {
        return make_error(ErrorCode::kInvalidArgument,
                          "\"{}\" is not a result (ok, error, timeout, an error name like "
                          "ENOENT, or a negative number)",
                          word);
    }
    return ok_status();
}

}  // namespace relay::guest::control
