// relay-config modules: the multiboot module list a launcher passes for a configuration.
#include <cstdio>

#include "tools/relay_config/commands.hpp"
#include "tools/relay_config/config_check.hpp"
#include "tools/relay_config/options.hpp"
#include "tools/relay_config/report.hpp"
#include "tools/relay_config/stdio_output.hpp"
#include "tools/relay_config/tree_loader.hpp"

namespace relay::config_tool {
namespace {

constexpr const char* kModulesHelp =
    "usage: relay-config modules FILE.dts|FILE.dtb [--dtb OUT.dtb]\n"
    "\n"
    "Prints the multiboot modules a launcher passes for this configuration, in mb-index\n"
    "order, one line each:\n"
    "\n"
    "  <mb-index> <file> <command line>\n"
    "\n"
    "Module 0 is the compiled tree itself (command line \"relay.hyperlaunch\"); every other\n"
    "module is the relay,file of the module nodes that use it, relative to the repository\n"
    "root, with the command line \"relay.module=<role>\", which lets the hypervisor catch\n"
    "modules passed in the wrong order. For QEMU: -initrd \"<file> <command line>,...\" for\n"
    "modules 0, 1, ... in order.\n"
    "\n"
    "The configuration is checked first (as by relay-config check, without host limits).\n"
    "Every mb-index from 1 to the highest must be used and have a relay,file.\n"
    "\n"
    "  --dtb OUT.dtb  write the compiled tree to OUT.dtb and list it as module 0; without\n"
    "                 it, module 0 is FILE for a .dtb and \"-\" for a .dts\n"
    "\n"
    "exit status: 0 listed, 1 invalid or unreadable, 2 usage error\n";

}  // namespace

int run_modules(const std::vector<std::string>& arguments) {
    ParsedArguments<ModulesOptions> parsed = parse_modules_arguments(arguments);
    if (parsed.help) {
        std::fputs(kModulesHelp, stdout);
        return kExitValid;
    }
    if (!parsed.error.empty()) {
        print_error("modules", parsed.error + " (see relay-config modules --help)");
        return kExitUsage;
    }
    const ModulesOptions& options = parsed.options;
    LoadResult loaded = load_tree(options.file);
    if (!loaded.ok) {
        print_error(options.file, loaded.error);
        return kExitInvalid;
    }
    if (!loaded.warnings.empty()) {
        std::fprintf(stderr, "%s\n", loaded.warnings.c_str());
    }
    CheckedConfig checked = check_structure(loaded.tree);
    if (!checked.status.ok()) {
        print_error(options.file, checked.status.error().message());
        return kExitInvalid;
    }
    std::string tree_file = loaded.compiled ? "-" : options.file;
    if (!options.dtb_output.empty()) {
        std::string error = write_tree(loaded.tree, options.dtb_output);
        if (!error.empty()) {
            print_error(options.file, error);
            return kExitInvalid;
        }
        tree_file = options.dtb_output;
    }
    StdioOutput output(stdout);
    std::string error = print_module_list(output, checked, tree_file);
    if (!error.empty()) {
        print_error(options.file, error);
        return kExitInvalid;
    }
    return kExitValid;
}

}  // namespace relay::config_tool
