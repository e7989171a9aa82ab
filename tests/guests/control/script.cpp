#include "tests/guests/control/script.hpp"

#include "lib/strings.hpp"
#include "tests/guests/control/commands.hpp"

namespace relay::guest::control {

namespace {

// The next space-separated word of `rest`, which is advanced past it.
std::string_view next_word(std::string_view* rest) {
    std::string_view text = *rest;
    usize begin = 0;
    while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) {
        ++begin;
    }
    usize end = begin;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') {
        ++end;
    }
    *rest = suffix_from(text, end);
    return slice(text, begin, end);
}

// "list, info, pause, ..." for the unknown-command message.
FixedString<160> command_names() {
    char buffer[161];
    FormatBuffer output(buffer, sizeof(buffer));
    bool first = true;
    for (const CommandSpec& spec : command_table()) {
        format(output, first ? "{}" : ", {}", spec.name);
        first = false;
    }
    return FixedString<160>::formatted("{}", output.view());
}

}  // namespace

Status parse_command(std::string_view text, Command* command) {
    *command = Command{};
    command->text = trim_spaces(text);
    std::string_view rest = command->text;
    std::string_view name = next_word(&rest);
    if (name == "expect") {
        std::string_view result = next_word(&rest);
        if (result.empty() || trim_spaces(rest).empty()) {
            return make_error(ErrorCode::kInvalidArgument,
                              "expect needs a result and a command (usage: expect RESULT "
                              "COMMAND...)");
        }
        RELAY_TRY(parse_expectation(result, &command->expectation));
        name = next_word(&rest);
        if (name == "expect") {
            return make_error(ErrorCode::kInvalidArgument, "expect cannot be nested");
        }
    }
    const CommandSpec* spec = find_command(name);
    if (spec == nullptr) {
        return make_error(ErrorCode::kNotFound, "unknown command \"{}\" (commands: {})", name,
                          command_names().view());
    }
    command->spec = spec;
    auto usage = command_usage(*spec);
    for (usize index = 0; index < kMaxCommandArguments; ++index) {
        ArgumentKind kind = spec->arguments[index];
        if (kind == ArgumentKind::kNone) {
            break;
        }
        std::string_view word = kind == ArgumentKind::kText ? trim_spaces(rest) : next_word(&rest);
        if (kind == ArgumentKind::kText) {
            rest = std::string_view();
        }
        if (word.empty() && kind != ArgumentKind::kText) {
            if (index < spec->required) {
                return make_error(ErrorCode::kInvalidArgument, "{} needs {} (usage: {})",
                                  spec->name, argument_kind_name(kind), usage.view());
            }
            break;
        }
        Status parsed = parse_argument(kind, word, &command->arguments[index]);
        if (!parsed.ok()) {
            return parsed.error().prefix("{}: ", spec->name);
        }
        command->argument_count = index + 1;
    }
    if (!trim_spaces(rest).empty()) {
        return make_error(ErrorCode::kInvalidArgument, "{}: too many arguments (usage: {})",
                          spec->name, usage.view());
    }
    return ok_status();
}

Status parse_script(std::string_view text, Script* script) {
    script->count = 0;
    usize position = 0;
    usize number = 0;
    while (position <= text.size()) {
        usize end = position;
        while (end < text.size() && text[end] != ';') {
            ++end;
        }
        std::string_view piece = trim_spaces(slice(text, position, end));
        position = end + 1;
        if (piece.empty()) {
            continue;  // ";;" and a trailing ';' are allowed
        }
        ++number;
        if (script->count == kMaxCommands) {
            return make_error(ErrorCode::kOutOfRange, "more than {} commands", kMaxCommands);
        }
        Command& command = script->commands[script->count];
        Status parsed = parse_command(piece, &command);
        if (!parsed.ok()) {
            return parsed.error().prefix("command {} (\"{}\"): ", number, piece);
        }
        ++script->count;
    }
    // Pair every loop with its end.
    usize open[kMaxLoopDepth];
    usize depth = 0;
    for (usize i = 0; i < script->count; ++i) {
        Command& command = script->commands[i];
        if (command.spec->flow == Flow::kLoop) {
            if (depth == kMaxLoopDepth) {
                return make_error(ErrorCode::kOutOfRange,
                                  "command {} (\"{}\"): loops nest at most {} deep", i + 1,
                                  command.text, kMaxLoopDepth);
            }
            open[depth++] = i;
        } else if (command.spec->flow == Flow::kEnd) {
            if (depth == 0) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "command {} (\"end\"): no loop to end", i + 1);
            }
            usize loop = open[--depth];
            command.partner = loop;
            script->commands[loop].partner = i;
            if (command.expectation.kind != Expectation::Kind::kNone ||
                script->commands[loop].expectation.kind != Expectation::Kind::kNone) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "command {}: loop and end take no expect", loop + 1);
            }
        }
    }
    if (depth != 0) {
        return make_error(ErrorCode::kInvalidArgument, "command {} (\"{}\"): loop without end",
                          open[depth - 1] + 1, script->commands[open[depth - 1]].text);
    }
    return ok_status();
}

}  // namespace relay::guest::control
