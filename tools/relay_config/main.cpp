// relay-config: checks Hyperlaunch configurations and derives the multiboot module list
// from them (docs/hyperlaunch.md).
#include <cstdio>
#include <string>
#include <vector>

#include "tools/relay_config/commands.hpp"
#include "tools/relay_config/report.hpp"

namespace relay::config_tool {
namespace {

constexpr const char* kHelp =
    "usage: relay-config <command> [arguments]\n"
    "\n"
    "Hyperlaunch configurations (Xen's binding, docs/hyperlaunch.md) for Relay.\n"
    "\n"
    "commands:\n"
    "  check FILE     validate a configuration and print the domains Relay would build\n"
    "  modules FILE   print the multiboot module list a launcher passes for it\n"
    "\n"
    "relay-config <command> --help describes each.\n";

}  // namespace
}  // namespace relay::config_tool

int main(int argc, char** argv) {
    using namespace relay::config_tool;
    std::vector<std::string> arguments(argv + 1, argv + argc);
    if (arguments.empty()) {
        std::fputs(kHelp, stderr);
        return kExitUsage;
    }
    const std::string command = arguments.front();
    arguments.erase(arguments.begin());
    if (command == "--help" || command == "-h" || command == "help") {
        std::fputs(kHelp, stdout);
        return kExitValid;
    }
    if (command == "check") {
        return run_check(arguments);
    }
    if (command == "modules") {
        return run_modules(arguments);
    }
    print_error(command, "unknown command (see relay-config --help)");
    return kExitUsage;
}
