#include "tests/guests/control/interpreter.hpp"

#include "tests/guests/control/commands.hpp"
#include "tests/guests/control/outcome.hpp"

namespace relay::guest::control {

ScriptSummary Interpreter::run(std::string_view script_text) {
    ScriptSummary summary;
    Script& script = workspace_.script;
    Status parsed = parse_script(script_text, &script);
    if (!parsed.ok()) {
        line("script rejected: {}", parsed.error().message());
        return summary;
    }
    summary.accepted = true;
    line("script: {} command{}", script.count, script.count == 1 ? "" : "s");
    for (usize i = 0; i < script.count; ++i) {
        const Command& command = script.commands[i];
        Outcome outcome = command.spec->run(command, *this);
        ++summary.commands;
        if (outcome.kind == Outcome::Kind::kStop) {
            summary.stopped = true;
            return summary;
        }
        report(command, outcome, &summary);
    }
    line("script done: {} command{}, {} error{}, {} unexpected", summary.commands,
         summary.commands == 1 ? "" : "s", summary.errors, summary.errors == 1 ? "" : "s",
         summary.unexpected);
    return summary;
}

void Interpreter::report(const Command& command, const Outcome& outcome, ScriptSummary* summary) {
    char result[kLineCapacity];
    FormatBuffer result_text(result, sizeof(result));
    describe(result_text, outcome);
    if (command.expectation.kind == Expectation::Kind::kNone) {
        if (outcome.failed()) {
            ++summary->errors;
        }
        line("{}: {}", command.text, result_text.view());
        return;
    }
    if (matches(command.expectation, outcome)) {
        line("{}: ok ({} as expected)", command.text, result_text.view());
        return;
    }
    ++summary->unexpected;
    char expected[128];
    FormatBuffer expected_text(expected, sizeof(expected));
    describe(expected_text, command.expectation);
    line("{}: UNEXPECTED: {} (expected {})", command.text, result_text.view(),
         expected_text.view());
}

}  // namespace relay::guest::control
