// Module nodes ("Module node" of Xen's binding): what a module is (its compatible) and,
// for the modules Relay gives to domains, where it is in the multiboot chain, its
// bootargs and its relay,file hint. Compiles freestanding and hosted.
#pragma once

#include "hv/config/boot_environment.hpp"
#include "hv/config/device_tree_node.hpp"
#include "hv/config/hyperlaunch_config.hpp"
#include "hv/config/node_kind.hpp"
#include "lib/result.hpp"

namespace relay::hyperlaunch {

// The module types the binding defines ("module,<type>").
enum class ModuleType : u8 {
    kKernel,
    kRamdisk,
    kConfig,
    kDeviceTree,
    kMicrocode,
    kXsmPolicy,
};

// Longest bootargs Relay passes on: Linux's x86 COMMAND_LINE_SIZE.
inline constexpr usize kMaxBootargsLength = 2047;
// Longest relay,file path.
inline constexpr usize kMaxHostFileLength = 255;

// The word a launcher may put on a module's multiboot command line to say what it loaded
// there ("relay.module=kernel"); the parser then checks it against the config.
inline constexpr std::string_view kModuleTagPrefix = "relay.module=";

// Reads `compatible` of a node that must be a module node: "module,<type>", optionally
// followed by "multiboot,module", nothing else.
Result<ModuleType> read_module_type(const DeviceTreeNode& node);

// The domain role of a module type, or kNone for types a domain cannot use.
ModuleRole domain_role(ModuleType type);

// Why Relay cannot use a module of `type` in a node of `parent_kind` (config or domain),
// as an error naming the module node; a type Relay can use there is never passed.
Error unsupported_module_error(const DeviceTreeNode& node, ModuleType type, NodeKind parent_kind);

// Parses a module node of a domain whose compatible says `role`: name, properties,
// mb-index within `modules`, bootargs (kernels only), relay,file, and a launcher's
// relay.module= tag on the module's command line when there is one.
Result<DomainModule> parse_domain_module(const DeviceTreeNode& node, ModuleRole role,
                                         ModuleList modules);

// Checks the form of a relay,file path: relative to the repository root, no "..", no
// whitespace or commas (QEMU's -initrd separates modules with commas).
Status check_host_file(const DeviceTreeNode& node, std::string_view path);

}  // namespace relay::hyperlaunch
