#include "hv/config/module_node.hpp"

#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/node_properties.hpp"
#include "hv/config/text_pieces.hpp"
#include "hv/config/vendor_properties.hpp"

namespace relay::hyperlaunch {
namespace {

struct ModuleTypeName {
    ModuleType type;
    std::string_view compatible;
};

constexpr ModuleTypeName kModuleTypes[] = {
    {ModuleType::kKernel, "module,kernel"},       {ModuleType::kRamdisk, "module,ramdisk"},
    {ModuleType::kConfig, "module,config"},       {ModuleType::kDeviceTree, "module,device-tree"},
    {ModuleType::kMicrocode, "module,microcode"}, {ModuleType::kXsmPolicy, "module,xsm-policy"},
};

std::string_view module_compatible(ModuleType type) {
    for (const ModuleTypeName& entry : kModuleTypes) {
        if (entry.type == type) {
            return entry.compatible;
        }
    }
    return "module,?";
}

[[gnu::noinline]] Result<u32> read_multiboot_index(const DeviceTreeNode& node, ModuleList modules) {
    if (!node.has(kPropertyMultibootIndex)) {
        return node.property_error(ErrorCode::kNotFound, kPropertyMultibootIndex,
                                   "missing; Relay finds every module in the multiboot chain "
                                   "by its mb-index");
    }
    RELAY_TRY_ASSIGN(index, node.read_u32(kPropertyMultibootIndex));
    if (index == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyMultibootIndex,
                                   "is 0, the Hyperlaunch device tree itself; domain modules "
                                   "start at 1");
    }
    if (index >= kMaxBootModules) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyMultibootIndex,
                                   "is {}; Relay handles multiboot modules 1 to {}", index,
                                   kMaxBootModules - 1);
    }
    if (index >= modules.size()) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyMultibootIndex,
                                   "is {}, but the boot loader passed {} multiboot modules "
                                   "(0 to {})",
                                   index, modules.size(), modules.size() - 1);
    }
    const ModuleInfo& module = modules[index];
    if (module.size_known && module.size == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyMultibootIndex,
                                   "multiboot module {} is empty", index);
    }
    return index;
}

// Looks for a "relay.module=<role>" word on the module's command line; a launcher that
// writes one lets the parser catch modules passed in the wrong order.
[[gnu::noinline]] Status check_module_tag(const DeviceTreeNode& node, ModuleRole role, u32 index,
                                          std::string_view command_line) {
    return for_each_piece(command_line, ' ', [&](std::string_view word) -> Status {
        if (!has_prefix(word, kModuleTagPrefix)) {
            return ok_status();
        }
        std::string_view tagged = drop_prefix(word, kModuleTagPrefix.size());
        if (tagged == module_role_name(role)) {
            return ok_status();
        }
        char printable_tag[32];
        return node.property_error(
            ErrorCode::kInvalidArgument, kPropertyMultibootIndex,
            "multiboot module {} is tagged \"relay.module={}\" on its command line, but this "
            "node uses it as {}: were the modules passed in the wrong order?",
            index, printable_copy(tagged, printable_tag, sizeof(printable_tag)),
            module_role_name(role));
    });
}

}  // namespace

Result<ModuleType> read_module_type(const DeviceTreeNode& node) {
    if (!node.has(kPropertyCompatible)) {
        return node.property_error(ErrorCode::kNotFound, kPropertyCompatible,
                                   "missing; a module node is \"module,<type>\"[, "
                                   "\"multiboot,module\"]");
    }
    StringList compatible;
    RELAY_TRY(node.read_string_list(kPropertyCompatible, &compatible));
    std::string_view first = compatible.entries[0];
    const ModuleTypeName* match = nullptr;
    for (const ModuleTypeName& entry : kModuleTypes) {
        if (first == entry.compatible) {
            match = &entry;
        }
    }
    if (match == nullptr) {
        if (has_prefix(first, kCompatibleModulePrefix)) {
            return node.property_error(ErrorCode::kUnsupported, kPropertyCompatible,
                                       "unknown module type \"{}\" (the binding defines "
                                       "kernel, ramdisk, config, device-tree, microcode and "
                                       "xsm-policy)",
                                       first);
        }
        return node.property_error(ErrorCode::kUnsupported, kPropertyCompatible,
                                   "unknown compatible \"{}\"; a module node is "
                                   "\"module,<type>\"[, \"multiboot,module\"]",
                                   first);
    }
    for (usize i = 1; i < compatible.count; ++i) {
        if (i > 1 || compatible.entries[i] != kCompatibleMultibootModule) {
            return node.property_error(ErrorCode::kUnsupported, kPropertyCompatible,
                                       "unknown compatible \"{}\" after \"{}\"; only "
                                       "\"multiboot,module\" may follow",
                                       compatible.entries[i], first);
        }
    }
    return match->type;
}

ModuleRole domain_role(ModuleType type) {
    switch (type) {
        case ModuleType::kKernel:
            return ModuleRole::kKernel;
        case ModuleType::kRamdisk:
            return ModuleRole::kRamdisk;
        case ModuleType::kConfig:
            return ModuleRole::kConfig;
        case ModuleType::kDeviceTree:
        case ModuleType::kMicrocode:
        case ModuleType::kXsmPolicy:
            break;
    }
    return ModuleRole::kNone;
}

Error unsupported_module_error(const DeviceTreeNode& node, ModuleType type, NodeKind parent_kind) {
    const char* reason = "Relay cannot use it here";
    switch (type) {
        case ModuleType::kKernel:
        case ModuleType::kRamdisk:
        case ModuleType::kConfig:
            reason = "a domain's module belongs in its domain node";
            break;
        case ModuleType::kDeviceTree:
            reason = "Relay gives its x86 guests no device tree";
            break;
        case ModuleType::kMicrocode:
            reason = "Relay does not load CPU microcode";
            break;
        case ModuleType::kXsmPolicy:
            reason = "Relay has no XSM; privilege comes from domain permissions";
            break;
    }
    return node.property_error(ErrorCode::kUnsupported, kPropertyCompatible,
                               "\"{}\" is not supported in a {} node: {}", module_compatible(type),
                               node_kind_name(parent_kind), reason);
}

Status check_host_file(const DeviceTreeNode& node, std::string_view path) {
    if (path.empty()) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyHostFile,
                                   "is empty; expected a path relative to the repository root");
    }
    if (path.front() == '/') {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyHostFile,
                                   "\"{}\" is absolute; give a path relative to the "
                                   "repository root",
                                   path);
    }
    for (char c : path) {
        if (c == ' ' || c == ',') {
            return node.property_error(ErrorCode::kInvalidArgument, kPropertyHostFile,
                                       "\"{}\" contains '{}', which a module list cannot carry",
                                       path, c);
        }
    }
    // No ".." component: the path stays inside the repository.
    return for_each_piece(path, '/', [&](std::string_view component) -> Status {
        if (component == "..") {
            return node.property_error(ErrorCode::kInvalidArgument, kPropertyHostFile,
                                       "\"{}\" leaves the repository (\"..\")", path);
        }
        return ok_status();
    });
}

Result<DomainModule> parse_domain_module(const DeviceTreeNode& node, ModuleRole role,
                                         ModuleList modules) {
    RELAY_TRY(node.check_name());
    RELAY_TRY(check_node_properties(node, kNodeModule));
    RELAY_TRY(node.for_each_child([&](const DeviceTreeNode& child) -> Status {
        return child.node_error(ErrorCode::kInvalidArgument, "a module node has no child nodes");
    }));

    DomainModule module;
    module.present = true;
    module.node_name = node.name();
    RELAY_TRY_ASSIGN(index, read_multiboot_index(node, modules));
    module.multiboot_index = index;
    RELAY_TRY(check_module_tag(node, role, index, modules[index].command_line));

    if (node.has(kPropertyBootargs)) {
        if (role != ModuleRole::kKernel) {
            return node.property_error(ErrorCode::kInvalidArgument, kPropertyBootargs,
                                       "only kernel modules take bootargs; this is a {} "
                                       "module",
                                       module_role_name(role));
        }
        RELAY_TRY_ASSIGN(bootargs, node.read_string(kPropertyBootargs, kMaxBootargsLength));
        module.bootargs = bootargs;
    }

    if (node.has(kPropertyHostFile)) {
        RELAY_TRY_ASSIGN(path, node.read_string(kPropertyHostFile, kMaxHostFileLength));
        RELAY_TRY(check_host_file(node, path));
        module.host_file = path;
    }
    return module;
}

}  // namespace relay::hyperlaunch
