#include "tools/relay_config/options.hpp"

#include <limits>

#include "hv/config/hyperlaunch_config.hpp"

namespace relay::config_tool {
namespace {

// Reads the value of option `name` at arguments[index + 1].
bool take_value(const std::vector<std::string>& arguments, usize& index, const std::string& name,
                std::string* value, std::string* error) {
    if (index + 1 >= arguments.size()) {
        *error = name + " needs a value";
        return false;
    }
    *value = arguments[++index];
    return true;
}

bool is_option(const std::string& argument) {
    return argument.size() > 1 && argument[0] == '-';
}

}  // namespace

std::optional<u64> parse_count(const std::string& text, u64 minimum, u64 maximum) {
    if (text.empty() || text.size() > 19) {
        return std::nullopt;
    }
    u64 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<u64>(c - '0');
    }
    if (value < minimum || value > maximum) {
        return std::nullopt;
    }
    return value;
}

std::optional<u64> parse_size(const std::string& text) {
    usize digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    std::optional<u64> number =
        parse_count(text.substr(0, digits), 0, std::numeric_limits<u64>::max());
    if (!number) {
        return std::nullopt;
    }
    std::string unit = text.substr(digits);
    u64 multiplier = 0;
    if (unit.empty() || unit == "B") {
        multiplier = 1;
    } else if (unit == "K" || unit == "KiB") {
        multiplier = KiB;
    } else if (unit == "M" || unit == "MiB") {
        multiplier = MiB;
    } else if (unit == "G" || unit == "GiB") {
        multiplier = GiB;
    } else if (unit == "T" || unit == "TiB") {
        multiplier = 1024 * GiB;
    } else {
        return std::nullopt;
    }
    u64 bytes = 0;
    if (__builtin_mul_overflow(*number, multiplier, &bytes)) {
        return std::nullopt;
    }
    return bytes;
}

ParsedArguments<CheckOptions> parse_check_arguments(const std::vector<std::string>& arguments) {
    ParsedArguments<CheckOptions> parsed;
    CheckOptions& options = parsed.options;
    for (usize i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        std::string value;
        if (argument == "--help" || argument == "-h") {
            parsed.help = true;
            return parsed;
        }
        if (argument == "--modules") {
            if (!take_value(arguments, i, argument, &value, &parsed.error)) {
                return parsed;
            }
            options.module_count = parse_count(value, 1, hyperlaunch::kMaxBootModules);
            if (!options.module_count) {
                parsed.error = "--modules takes a count from 1 to " +
                               std::to_string(hyperlaunch::kMaxBootModules) +
                               " (module 0, the tree, included), not \"" + value + "\"";
                return parsed;
            }
        } else if (argument == "--host-memory") {
            if (!take_value(arguments, i, argument, &value, &parsed.error)) {
                return parsed;
            }
            options.host_memory_bytes = parse_size(value);
            if (!options.host_memory_bytes) {
                parsed.error =
                    "--host-memory takes a size such as 512M or 3G, not \"" + value + "\"";
                return parsed;
            }
        } else if (argument == "--cpus") {
            if (!take_value(arguments, i, argument, &value, &parsed.error)) {
                return parsed;
            }
            std::optional<u64> cpus = parse_count(value, 1, 4096);
            if (!cpus) {
                parsed.error = "--cpus takes a count from 1 to 4096, not \"" + value + "\"";
                return parsed;
            }
            options.physical_cpus = static_cast<u32>(*cpus);
        } else if (argument == "--root") {
            if (!take_value(arguments, i, argument, &options.root, &parsed.error)) {
                return parsed;
            }
        } else if (is_option(argument)) {
            parsed.error = "unknown option " + argument;
            return parsed;
        } else if (options.file.empty()) {
            options.file = argument;
        } else {
            parsed.error = "one FILE only; \"" + argument + "\" is a second";
            return parsed;
        }
    }
    if (options.file.empty()) {
        parsed.error = "FILE.dts or FILE.dtb is missing";
    }
    return parsed;
}

ParsedArguments<ModulesOptions> parse_modules_arguments(const std::vector<std::string>& arguments) {
    ParsedArguments<ModulesOptions> parsed;
    ModulesOptions& options = parsed.options;
    for (usize i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        if (argument == "--help" || argument == "-h") {
            parsed.help = true;
            return parsed;
        }
        if (argument == "--dtb") {
            if (!take_value(arguments, i, argument, &options.dtb_output, &parsed.error)) {
                return parsed;
            }
        } else if (is_option(argument)) {
            parsed.error = "unknown option " + argument;
            return parsed;
        } else if (options.file.empty()) {
            options.file = argument;
        } else {
            parsed.error = "one FILE only; \"" + argument + "\" is a second";
            return parsed;
        }
    }
    if (options.file.empty()) {
        parsed.error = "FILE.dts or FILE.dtb is missing";
    }
    return parsed;
}

}  // namespace relay::config_tool
