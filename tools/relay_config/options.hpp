// Command-line options of relay-config's subcommands, and the size syntax they take.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/types.hpp"

namespace relay::config_tool {

struct CheckOptions {
    std::string file;
    std::optional<u64> module_count;       // --modules N (including module 0)
    std::optional<u64> host_memory_bytes;  // --host-memory SIZE
    std::optional<u32> physical_cpus;      // --cpus N
    std::string root = ".";                // --root DIR: where relay,file paths start
};

struct ModulesOptions {
    std::string file;
    std::string dtb_output;  // --dtb PATH: write the compiled tree there (module 0)
};

// The outcome of reading the arguments: options, a request for help, or a usage error.
template <typename Options>
struct ParsedArguments {
    Options options;
    bool help = false;
    std::string error;  // non-empty: a usage error
};

ParsedArguments<CheckOptions> parse_check_arguments(const std::vector<std::string>& arguments);
ParsedArguments<ModulesOptions> parse_modules_arguments(const std::vector<std::string>& arguments);

// Parses a size: a decimal number with an optional binary unit K, M, G or T (optionally
// followed by "iB"), or "B" for bytes: "512M", "3GiB", "1048576". Empty on a malformed
// or overflowing size.
std::optional<u64> parse_size(const std::string& text);

// Parses a decimal count in [minimum, maximum].
std::optional<u64> parse_count(const std::string& text, u64 minimum, u64 maximum);

}  // namespace relay::config_tool
