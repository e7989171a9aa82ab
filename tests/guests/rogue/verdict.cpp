#include "tests/guests/rogue/verdict.hpp"

#include "tests/guests/lib/abi_names.hpp"

namespace relay::guest::rogue {

namespace {

constexpr const char* kMnemonics[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS",
    "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XF", "#20", "#CP",
    "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

void describe_fault(FormatOutput& output, u8 vector, u64 error_code) {
    const char* mnemonic = vector < 32 ? kMnemonics[vector] : "#??";
    format(output, error_code == 0 ? "{}(0)" : "{}({:#x})", mnemonic, error_code);
}

void describe_code(FormatOutput& output, i64 code) {
    const char* name = error_name(code);
    if (name != nullptr) {
        format(output, "{}", name);
    } else {
        format(output, "{}", code);
    }
}

bool acceptable(const Acceptable& option, const Observation& observation) {
    using Kind = Observation::Kind;
    switch (option.kind) {
        case Acceptable::Kind::kError:
            return observation.kind == Kind::kResult && observation.value == option.value;
        case Acceptable::Kind::kSuccess:
            return observation.kind == Kind::kResult && static_cast<i64>(observation.value) >= 0;
        case Acceptable::Kind::kFault:
            return observation.kind == Kind::kFault && observation.vector == option.vector &&
                   observation.error_code == option.value;
        case Acceptable::Kind::kRead:
            return observation.kind == Kind::kRead && observation.value == option.value;
        case Acceptable::Kind::kReadMasked:
            return observation.kind == Kind::kRead &&
                   (observation.value & option.mask) == option.value;
        case Acceptable::Kind::kCompleted:
            return observation.kind == Kind::kCompleted;
    }
    return false;
}

void describe_option(FormatOutput& output, const Acceptable& option) {
    switch (option.kind) {
        case Acceptable::Kind::kError:
            describe_code(output, static_cast<i64>(option.value));
            return;
        case Acceptable::Kind::kSuccess:
            format(output, "success");
            return;
        case Acceptable::Kind::kFault:
            describe_fault(output, option.vector, option.value);
            return;
        case Acceptable::Kind::kRead:
            format(output, "read {:#x}", option.value);
            return;
        case Acceptable::Kind::kReadMasked:
            format(output, "{}", option.description != nullptr ? option.description : "?");
            return;
        case Acceptable::Kind::kCompleted:
            format(output, "completed");
            return;
    }
}

Expected single(const Acceptable& option) {
    Expected expected;
    expected.options[0] = option;
    expected.count = 1;
    return expected;
}

}  // namespace

Expected Expected::errors(std::initializer_list<i64> codes) {
    Expected expected;
    for (i64 code : codes) {
        if (expected.count < 3) {
            expected.options[expected.count++] = {Acceptable::Kind::kError, static_cast<u64>(code)};
        }
    }
    return expected;
}

Expected Expected::success() {
    return single({Acceptable::Kind::kSuccess});
}

Expected Expected::fault(u8 vector, u64 error_code) {
    Acceptable option{Acceptable::Kind::kFault, error_code};
    option.vector = vector;
    return single(option);
}

Expected Expected::read(u64 value) {
    return single({Acceptable::Kind::kRead, value});
}

Expected Expected::read_masked(u64 mask, u64 value, const char* description) {
    return single({Acceptable::Kind::kReadMasked, value, mask, 0, description});
}

Expected Expected::completed() {
    return single({Acceptable::Kind::kCompleted});
}

Expected& Expected::or_else(const Expected& other) {
    for (usize i = 0; i < other.count && count < 3; ++i) {
        options[count++] = other.options[i];
    }
    return *this;
}

bool matches(const Expected& expected, const Observation& observation) {
    for (usize i = 0; i < expected.count; ++i) {
        if (acceptable(expected.options[i], observation)) {
            return true;
        }
    }
    return false;
}

void describe(FormatOutput& output, const Observation& observation) {
    switch (observation.kind) {
        case Observation::Kind::kResult: {
            i64 result = static_cast<i64>(observation.value);
            if (result < 0) {
                format(output, "refused ");
                describe_code(output, result);
            } else {
                format(output, "returned {}", result);
            }
            return;
        }
        case Observation::Kind::kFault:
            describe_fault(output, observation.vector, observation.error_code);
            return;
        case Observation::Kind::kRead:
            format(output, "read {:#x}", observation.value);
            return;
        case Observation::Kind::kCompleted:
            format(output, "completed");
            return;
    }
}

void describe(FormatOutput& output, const Expected& expected) {
    for (usize i = 0; i < expected.count; ++i) {
        if (i > 0) {
            format(output, "|");
        }
        describe_option(output, expected.options[i]);
    }
}

bool AttackLog::attack(std::string_view group, std::string_view name, const Observation& observed,
                       const Expected& expected) {
    char observed_text[96];
    FormatBuffer observed_output(observed_text, sizeof(observed_text));
    describe(observed_output, observed);
    char expected_text[96];
    FormatBuffer expected_output(expected_text, sizeof(expected_text));
    describe(expected_output, expected);
    bool ok = matches(expected, observed);
    char line[kLineCapacity];
    FormatBuffer output(line, sizeof(line));
    format(output, "rogue: attack {}/{}: {} (expected {}) {}", group, name, observed_output.view(),
           expected_output.view(), ok ? "ok" : "UNEXPECTED");
    sink_.write_line(output.view());
    ++(ok ? as_expected_ : unexpected_);
    return ok;
}

bool AttackLog::check(std::string_view group, std::string_view name, std::string_view observed,
                      std::string_view expected, bool ok) {
    char line[kLineCapacity];
    FormatBuffer output(line, sizeof(line));
    format(output, "rogue: check {}/{}: {} (expected {}) {}", group, name, observed, expected,
           ok ? "ok" : "UNEXPECTED");
    sink_.write_line(output.view());
    ++(ok ? as_expected_ : unexpected_);
    return ok;
}

void AttackLog::summary() {
    char line[kLineCapacity];
    FormatBuffer output(line, sizeof(line));
    format(output, "rogue: {} attacks refused as expected, {} unexpected", as_expected_,
           unexpected_);
    sink_.write_line(output.view());
}

}  // namespace relay::guest::rogue
