// relay-config check: is this configuration valid, and what would Relay build from it?
#include <cstdio>

#include "tools/relay_config/commands.hpp"
#include "tools/relay_config/config_check.hpp"
#include "tools/relay_config/options.hpp"
#include "tools/relay_config/report.hpp"
#include "tools/relay_config/stdio_output.hpp"
#include "tools/relay_config/tree_loader.hpp"

namespace relay::config_tool {
namespace {

constexpr const char* kCheckHelp =
    "usage: relay-config check FILE.dts|FILE.dtb [--modules N] [--host-memory SIZE]\n"
    "                          [--cpus N] [--root DIR]\n"
    "\n"
    "Parses a Hyperlaunch configuration with the hypervisor's own parser and prints the\n"
    "domains Relay would build (domid, name, roles, mode, UUID, vCPUs, memory, modules with\n"
    "mb-index, role, file and bootargs) and the multiboot modules in launch order, or the\n"
    "first error, naming the node and property. A .dts is compiled with dtc first.\n"
    "\n"
    "  --modules N         the boot loader passes N multiboot modules, module 0 (the tree)\n"
    "                      included; default: up to the highest mb-index in the config\n"
    "  --host-memory SIZE  memory the host gives guests in total (512M, 3G, ...); default:\n"
    "                      not checked\n"
    "  --cpus N            physical CPUs of the host (a domain gets at most N vCPUs);\n"
    "                      default: not checked\n"
    "  --root DIR          where relay,file paths start (default: .); files that exist\n"
    "                      give the module sizes, which must fit in each domain's memory\n"
    "\n"
    "exit status: 0 valid, 1 invalid or unreadable, 2 usage error\n"
    "docs/hyperlaunch.md describes the binding and every rule.\n";

}  // namespace

int run_check(const std::vector<std::string>& arguments) {
    ParsedArguments<CheckOptions> parsed = parse_check_arguments(arguments);
    if (parsed.help) {
        std::fputs(kCheckHelp, stdout);
        return kExitValid;
    }
    if (!parsed.error.empty()) {
        print_error("check", parsed.error + " (see relay-config check --help)");
        return kExitUsage;
    }
    const CheckOptions& options = parsed.options;
    LoadResult loaded = load_tree(options.file);
    if (!loaded.ok) {
        print_error(options.file, loaded.error);
        return kExitInvalid;
    }
    if (!loaded.warnings.empty()) {
        std::fprintf(stderr, "%s\n", loaded.warnings.c_str());
    }
    HostDescription host = describe_host(options);
    CheckedConfig checked = check_on_host(loaded.tree, options, host);
    if (!checked.status.ok()) {
        print_error(options.file, checked.status.error().message());
        return kExitInvalid;
    }
    StdioOutput output(stdout);
    print_domains(output, options.file, checked, host);
    return kExitValid;
}

}  // namespace relay::config_tool
