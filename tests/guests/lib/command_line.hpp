// A guest's command line (the Hyperlaunch bootargs of its kernel module, handed over in
// the start-info block): words separated by spaces, each `key=value` or a bare `key`.
// docs/testing.md, "Command lines", is the specification:
//   - a value may be quoted, 'like this' or "like this", to hold spaces (the quotes are
//     not part of the value); quotes elsewhere are ordinary characters;
//   - a key the program declares "rest of line" (control's script=) takes everything after
//     its '=' to the end of the line, spaces and quotes included, so it must come last;
//   - when a key appears twice, the last one counts.
// Shared code: unit-tested on the host.
#pragma once

#include <span>
#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest {

class CommandLine {
public:
    static constexpr usize kMaxArguments = 32;

    struct Argument {
        std::string_view key;
        std::string_view value;  // empty for a bare key
        bool has_value = false;
    };

    // Splits `text`. Fails on an empty key ("=5"), an unterminated quote, or more than
    // kMaxArguments words.
    static Result<CommandLine> parse(std::string_view text,
                                     std::span<const std::string_view> rest_of_line_keys = {});

    std::span<const Argument> arguments() const { return {arguments_, count_}; }

    // The last argument with this key, or nullptr.
    const Argument* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
    std::string_view value_or(std::string_view key, std::string_view fallback) const;

    // The key's value as a number (decimal or 0x hexadecimal) in [minimum, maximum], or
    // `fallback` when the key is absent. The error names the key and the accepted range.
    Result<u64> number_or(std::string_view key, u64 fallback, u64 minimum, u64 maximum) const;

    // The first argument whose key is in neither list, or nullptr: guests warn about it,
    // so that a misspelt key ("sed=5") does not silently run with the default.
    const Argument* first_unknown(std::span<const std::string_view> known,
                                  std::span<const std::string_view> also_known = {}) const;

private:
    Argument arguments_[kMaxArguments];
    usize count_ = 0;
};

}  // namespace relay::guest
