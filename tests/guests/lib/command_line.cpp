#include "tests/guests/lib/command_line.hpp"

#include "lib/strings.hpp"

namespace relay::guest {

namespace {

bool contains(std::span<const std::string_view> list, std::string_view word) {
    for (std::string_view entry : list) {
        if (entry == word) {
            return true;
        }
    }
    return false;
}

}  // namespace

Result<CommandLine> CommandLine::parse(std::string_view text,
                                       std::span<const std::string_view> rest_of_line_keys) {
    CommandLine line;
    usize position = 0;
    while (true) {
        while (position < text.size() && text[position] == ' ') {
            ++position;
        }
        if (position >= text.size()) {
            return line;
        }
        usize word_start = position;
        while (position < text.size() && text[position] != ' ' && text[position] != '=') {
            ++position;
        }
        Argument argument;
        argument.key = slice(text, word_start, position);
        if (argument.key.empty()) {
            return make_error(ErrorCode::kInvalidArgument,
                              "command line: argument at column {} has no key before '='",
                              word_start + 1);
        }
        if (position < text.size() && text[position] == '=') {
            ++position;
            argument.has_value = true;
            char quote = position < text.size() ? text[position] : '\0';
            if (contains(rest_of_line_keys, argument.key)) {
                argument.value = suffix_from(text, position);
                position = text.size();
            } else if (quote == '"' || quote == '\'') {
                usize value_start = position + 1;
                usize close = value_start;
                while (close < text.size() && text[close] != quote) {
                    ++close;
                }
                if (close >= text.size()) {
                    return make_error(ErrorCode::kInvalidArgument,
                                      "command line: value of \"{}\" has no closing {}",
                                      argument.key, quote);
                }
                argument.value = slice(text, value_start, close);
                position = close + 1;
                if (position < text.size() && text[position] != ' ') {
                    return make_error(ErrorCode::kInvalidArgument,
                                      "command line: value of \"{}\" continues after its "
                                      "closing quote",
                                      argument.key);
                }
            } else {
                usize value_start = position;
                while (position < text.size() && text[position] != ' ') {
                    ++position;
                }
                argument.value = slice(text, value_start, position);
            }
        }
        if (line.count_ == kMaxArguments) {
            return make_error(ErrorCode::kOutOfRange,
                              "command line: more than {} arguments (at \"{}\")", kMaxArguments,
                              argument.key);
        }
        line.arguments_[line.count_++] = argument;
    }
}

const CommandLine::Argument* CommandLine::find(std::string_view key) const {
    for (usize i = count_; i > 0; --i) {
        if (arguments_[i - 1].key == key) {
            return &arguments_[i - 1];
        }
    }
    return nullptr;
}

std::string_view CommandLine::value_or(std::string_view key, std::string_view fallback) const {
    const Argument* argument = find(key);
    return argument != nullptr ? argument->value : fallback;
}

Result<u64> CommandLine::number_or(std::string_view key, u64 fallback, u64 minimum,
                                   u64 maximum) const {
    const Argument* argument = find(key);
    if (argument == nullptr) {
        return fallback;
    }
    u64 value = 0;
    if (!argument->has_value || !parse_u64(argument->value, &value)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "{}=\"{}\": not a number (decimal, or hexadecimal with 0x)", key,
                          argument->value);
    }
    if (value < minimum || value > maximum) {
        return make_error(ErrorCode::kOutOfRange, "{}={}: out of range ({} to {})", key, value,
                          minimum, maximum);
    }
    return value;
}

const CommandLine::Argument* CommandLine::first_unknown(
    std::span<const std::string_view> known, std::span<const std::string_view> also_known) const {
    for (usize i = 0; i < count_; ++i) {
        if (!contains(known, arguments_[i].key) && !contains(also_known, arguments_[i].key)) {
            return &arguments_[i];
        }
    }
    return nullptr;
}

}  // namespace relay::guest
