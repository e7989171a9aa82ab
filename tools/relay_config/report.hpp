// What relay-config prints: the domains a configuration builds, and the multiboot module
// list a launcher passes.
#pragma once

#include <string>

#include "lib/format.hpp"
#include "tools/relay_config/config_check.hpp"

namespace relay::config_tool {

// The module-0 command line a launcher gives the compiled tree.
inline constexpr const char* kTreeModuleTag = "relay.hyperlaunch";

// Prints every domain (domid, name, roles, mode, UUID, cpus, memory, modules with
// mb-index, role, file and bootargs), the multiboot modules in launch order, and notes.
void print_domains(FormatOutput& output, const std::string& file, const CheckedConfig& checked,
                   const HostDescription& host);

// One line per multiboot module in mb-index order: "<mb-index> <file> <command line>".
// Module 0 is the tree (`tree_file`). Returns an error message instead when a launcher
// could not build the list (an index no node uses, a module without relay,file).
std::string print_module_list(FormatOutput& output, const CheckedConfig& checked,
                              const std::string& tree_file);

// Prints "relay-config: <context>: <message>" on stderr.
void print_error(const std::string& context, const std::string& message);

}  // namespace relay::config_tool
