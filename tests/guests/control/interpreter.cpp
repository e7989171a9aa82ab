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
    // Passes left of each open loop, innermost last.
    u64 passes_left[kMaxLoopDepth];
    usize depth = 0;
    for (usize i = 0; i < script.count; ++i) {
        const Command& command = script.commands[i];
        if (command.spec->flow == Flow::kLoop) {
            u64 total = command.arguments[0].number;
            passes_left[depth++] = total - 1;
            ++summary.commands;
            line("{}: pass 1 of {}", command.text, total);
            continue;
        }
        if (command.spec->flow == Flow::kEnd) {
            const Command& loop = script.commands[command.partner];
            u64 total = loop.arguments[0].number;
            if (passes_left[depth - 1] > 0) {
                --passes_left[depth - 1];
                line("{}: pass {} of {}", loop.text, total - passes_left[depth - 1], total);
                i = command.partner;  // the loop's first command is next
                continue;
            }
            --depth;
            ++summary.commands;
            line("{}: ok ({} passes)", loop.text, total);
            continue;
        }
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
