#include "tests/guests/control/outcome.hpp"

#include "tests/guests/lib/abi_names.hpp"

namespace relay::guest::control {

namespace {

void describe_error(FormatOutput& output, i64 code) {
    const char* name = error_name(code);
    format(output, "error {} ({})", name != nullptr ? name : "EUNKNOWN", code);
}

}  // namespace

void describe(FormatOutput& output, const Outcome& outcome) {
    switch (outcome.kind) {
        case Outcome::Kind::kOk:
        case Outcome::Kind::kStop:
            format(output, outcome.detail.length() == 0 ? "ok" : "ok {}", outcome.detail.view());
            return;
        case Outcome::Kind::kError:
            describe_error(output, outcome.code);
            return;
        case Outcome::Kind::kTimeout:
            format(output, "error timeout ({})", outcome.detail.view());
            return;
        case Outcome::Kind::kFailed:
            format(output, "error ({})", outcome.detail.view());
            return;
    }
}

void describe(FormatOutput& output, const Expectation& expectation) {
    switch (expectation.kind) {
        case Expectation::Kind::kNone:
        case Expectation::Kind::kOk:
            format(output, "ok");
            return;
        case Expectation::Kind::kAnyError:
            format(output, "an error");
            return;
        case Expectation::Kind::kError:
            describe_error(output, expectation.code);
            return;
        case Expectation::Kind::kTimeout:
            format(output, "timeout");
            return;
    }
}

bool matches(const Expectation& expectation, const Outcome& outcome) {
    switch (expectation.kind) {
        case Expectation::Kind::kNone:
            return true;
        case Expectation::Kind::kOk:
            return outcome.kind == Outcome::Kind::kOk || outcome.kind == Outcome::Kind::kStop;
        case Expectation::Kind::kAnyError:
            return outcome.failed();
        case Expectation::Kind::kError:
            return outcome.kind == Outcome::Kind::kError && outcome.code == expectation.code;
        case Expectation::Kind::kTimeout:
            return outcome.kind == Outcome::Kind::kTimeout;
    }
    return false;
}

}  // namespace relay::guest::control
