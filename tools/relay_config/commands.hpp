// relay-config's subcommands. Each returns the process exit status: 0 when the
// configuration is valid, 1 when it is not (or cannot be read), 2 on a usage error.
#pragma once

#include <string>
#include <vector>

namespace relay::config_tool {

inline constexpr int kExitValid = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;

int run_check(const std::vector<std::string>& arguments);
int run_modules(const std::vector<std::string>& arguments);

}  // namespace relay::config_tool
