#include "hv/config/hyperlaunch_parser.hpp"

#include <libfdt.h>

#include "hv/config/device_tree_blob.hpp"
#include "hv/config/device_tree_node.hpp"
#include "hv/config/domain_node.hpp"
#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/module_node.hpp"
#include "hv/config/node_properties.hpp"
#include "hv/config/vendor_properties.hpp"
#include "lib/utf8.hpp"

namespace relay::hyperlaunch {
namespace {

enum class ChildKind : u8 { kConfig, kDomain };

// Walks /chosen/hypervisor and applies the rules that span domains as each domain is
// added: unique domid, name and UUID; one control, one hardware and one boot domain;
// the host's domain count and memory; how multiboot modules are shared.
class ConfigParser {
public:
    ConfigParser(ModuleList modules, const HostLimits& limits, HyperlaunchConfig* config)
        : modules_(modules), limits_(limits), config_(config) {}

    Status parse(std::span<const u8> blob) {
        if (modules_.empty()) {
            return Error(ErrorCode::kInvalidArgument,
                         "multiboot: no modules; module 0 must be the Hyperlaunch device tree");
        }
        RELAY_TRY(verify_device_tree_blob(blob));
        const void* fdt = blob.data();
        config_->module_count =
            modules_.size() < kMaxBootModules ? modules_.size() : kMaxBootModules;
        RELAY_TRY(check_module_command_lines());

        int chosen = fdt_path_offset(fdt, kChosenPath);
        if (chosen < 0) {
            return missing_node_error(kChosenPath);
        }
        int hypervisor = fdt_subnode_offset(fdt, chosen, kHypervisorNodeName);
        if (hypervisor < 0) {
            return missing_node_error("/chosen/hypervisor");
        }
        return parse_hypervisor(
            DeviceTreeNode(fdt, chosen, NodePath(kChosenPath)).child_at(hypervisor));
    }

private:
    // The boot stream records every module's command line as text, so each must be UTF-8
    // (a boot loader passes bytes; a Latin-1 config file would give others).
    Status check_module_command_lines() const {
        for (usize i = 0; i < config_->module_count; ++i) {
            std::string_view line = modules_[i].command_line;
            usize valid = utf8_valid_prefix(reinterpret_cast<const u8*>(line.data()), line.size());
            if (valid != line.size()) {
                return Error(ErrorCode::kInvalidArgument,
                             "multiboot module {}: command line is not UTF-8 (byte {:#04x} at "
                             "offset {}); the boot stream records it as text",
                             i, static_cast<u8>(line[valid]), valid);
            }
        }
        return ok_status();
    }

    [[gnu::noinline, gnu::cold]] static Error missing_node_error(const char* path) {
        return Error(ErrorCode::kNotFound,
                     "{}: node missing: this is not a Hyperlaunch device tree (it describes its "
                     "domains in /chosen/hypervisor)",
                     path);
    }

    usize max_domains() const {
        return limits_.max_domains < kMaxDomains ? limits_.max_domains : kMaxDomains;
    }

    [[gnu::noinline]] Status parse_hypervisor(const DeviceTreeNode& node) {
        RELAY_TRY(check_node_properties(node, kNodeHypervisor));
        RELAY_TRY(read_hypervisor_compatible(node));
        RELAY_TRY(node.for_each_child([&](const DeviceTreeNode& child) -> Status {
            RELAY_TRY_ASSIGN(kind, read_child_kind(child));
            if (kind == ChildKind::kConfig) {
                return parse_config(child);
            }
            return add_domain(node, child);
        }));
        if (config_->domain_count == 0) {
            return node.node_error(ErrorCode::kNotFound,
                                   "no domain nodes (compatible \"{}\"); nothing to build",
                                   kCompatibleDomain);
        }
        return ok_status();
    }

    // "The Hypervisor node": compatible names the hypervisors the configuration is for.
    [[gnu::noinline]] Status read_hypervisor_compatible(const DeviceTreeNode& node) {
        if (!node.has(kPropertyCompatible)) {
            return node.property_error(ErrorCode::kNotFound, kPropertyCompatible,
                                       "missing; expected \"{}\" or \"{}\"",
                                       kCompatibleHypervisorXen, kCompatibleHypervisorRelay);
        }
        StringList compatible;
        RELAY_TRY(node.read_string_list(kPropertyCompatible, &compatible));
        for (usize i = 0; i < compatible.count; ++i) {
            std::string_view entry = compatible.entries[i];
            if (entry == kCompatibleHypervisorXen) {
                config_->compatible_xen = true;
            } else if (entry == kCompatibleHypervisorRelay) {
                config_->compatible_relay = true;
            } else {
                return node.property_error(ErrorCode::kUnsupported, kPropertyCompatible,
                                           "unknown compatible \"{}\"; Relay accepts \"{}\" "
                                           "and \"{}\"",
                                           entry, kCompatibleHypervisorXen,
                                           kCompatibleHypervisorRelay);
            }
        }
        return ok_status();
    }

    // Children of the hypervisor node are told apart by compatible, not by name.
    [[gnu::noinline]] Result<ChildKind> read_child_kind(const DeviceTreeNode& child) {
        if (!child.has(kPropertyCompatible)) {
            return child.property_error(ErrorCode::kNotFound, kPropertyCompatible,
                                        "missing; children of the hypervisor node are config "
                                        "nodes (\"{}\") and domain nodes (\"{}\")",
                                        kCompatibleConfig, kCompatibleDomain);
        }
        StringList compatible;
        RELAY_TRY(child.read_string_list(kPropertyCompatible, &compatible));
        if (compatible.count == 1 && compatible.entries[0] == kCompatibleConfig) {
            return ChildKind::kConfig;
        }
        if (compatible.count == 1 && compatible.entries[0] == kCompatibleDomain) {
            return ChildKind::kDomain;
        }
        std::string_view unknown = compatible.entries[0];
        if (compatible.entries[0] == kCompatibleConfig ||
            compatible.entries[0] == kCompatibleDomain) {
            unknown = compatible.entries[1];
        }
        return child.property_error(ErrorCode::kUnsupported, kPropertyCompatible,
                                    "unknown compatible \"{}\"; a child of the hypervisor node "
                                    "is exactly \"{}\" or \"{}\"",
                                    unknown, kCompatibleConfig, kCompatibleDomain);
    }

    // "Config Node": Relay honours none of the modules Xen defines for it (microcode,
    // XSM policy), so a config node may only be empty.
    [[gnu::noinline]] Status parse_config(const DeviceTreeNode& node) {
        RELAY_TRY(node.check_name());
        RELAY_TRY(check_node_properties(node, kNodeConfig));
        RELAY_TRY(node.for_each_child([&](const DeviceTreeNode& child) -> Status {
            RELAY_TRY_ASSIGN(type, read_module_type(child));
            return unsupported_module_error(child, type, kNodeConfig);
        }));
        ++config_->host.node_count;
        return ok_status();
    }

    [[gnu::noinline]] Status add_domain(const DeviceTreeNode& parent, const DeviceTreeNode& node) {
        if (config_->domain_count == max_domains()) {
            return node.node_error(ErrorCode::kOutOfRange,
                                   "one domain too many: the host runs at most {} domains",
                                   max_domains());
        }
        DomainConfig& domain = config_->domains[config_->domain_count];
        RELAY_TRY(parse_domain_node(node, modules_, limits_, &domain));
        RELAY_TRY(check_unique(node, domain));
        RELAY_TRY(check_single_roles(node, domain));
        RELAY_TRY(add_memory(node, domain));
        RELAY_TRY(record_modules(parent, domain));
        ++config_->domain_count;
        return ok_status();
    }

    NodePath domain_path(const DomainConfig& domain) const {
        return NodePath(kChosenPath).child(kHypervisorNodeName).child(domain.name);
    }

    [[gnu::noinline]] Status check_unique(const DeviceTreeNode& node, const DomainConfig& domain) {
        for (const DomainConfig& earlier : config_->domain_list()) {
            if (earlier.domid == domain.domid) {
                return node.property_error(ErrorCode::kAlreadyExists, kPropertyDomid,
                                           "{} is already the domid of {}", domain.domid,
                                           domain_path(earlier));
            }
            if (earlier.name == domain.name) {
                return node.node_error(ErrorCode::kAlreadyExists,
                                       "another domain node has the same name");
            }
            if (!domain.uuid.is_nil() && earlier.uuid == domain.uuid) {
                return node.property_error(ErrorCode::kAlreadyExists, kPropertyDomainUuid,
                                           "is already the UUID of {}", domain_path(earlier));
            }
            // A PCI function's DMA can go to one I/O address space only.
            for (usize i = 0; i < domain.passthrough_count; ++i) {
                for (usize j = 0; j < earlier.passthrough_count; ++j) {
                    if (domain.passthrough[i] == earlier.passthrough[j]) {
                        return node.property_error(ErrorCode::kAlreadyExists, kPropertyPassthrough,
                                                   "{} is already assigned to {}",
                                                   pci_function_text(domain.passthrough[i]).view(),
                                                   domain_path(earlier));
                    }
                }
            }
        }
        return ok_status();
    }

    // One control domain: live update and pause/unpause of others are host-wide
    // operations with one owner. One hardware domain: the host's devices have one owner.
    // One boot domain: one domain drives the boot sequence. Allowing more later accepts
    // more configs; forbidding later would break configs.
    [[gnu::noinline]] Status check_single_roles(const DeviceTreeNode& node,
                                                const DomainConfig& domain) {
        struct SingleRole {
            const char* property;
            bool (*holds)(const DomainConfig&);
            const char* role;
        };
        static constexpr SingleRole kSingleRoles[] = {
            {kPropertyPermissions,
             [](const DomainConfig& d) { return d.has_permission(kPermissionControl); },
             "PERMISSION_CONTROL"},
            {kPropertyPermissions,
             [](const DomainConfig& d) { return d.has_permission(kPermissionHardware); },
             "PERMISSION_HARDWARE"},
            {kPropertyFunctions,
             [](const DomainConfig& d) { return d.has_function(kFunctionBoot); }, "FUNCTION_BOOT"},
        };
        for (const SingleRole& single : kSingleRoles) {
            if (!single.holds(domain)) {
                continue;
            }
            for (const DomainConfig& earlier : config_->domain_list()) {
                if (single.holds(earlier)) {
                    return node.property_error(ErrorCode::kAlreadyExists, single.property,
                                               "{} is already held by {} (domid {}); Relay "
                                               "allows one such domain",
                                               single.role, domain_path(earlier), earlier.domid);
                }
            }
        }
        return ok_status();
    }

    [[gnu::noinline]] Status add_memory(const DeviceTreeNode& node, const DomainConfig& domain) {
        u64 host_kib = limits_.guest_memory_bytes / KiB;
        // Each domain's memory is at most host_kib (checked per domain), so this sum of at
        // most kMaxDomains terms cannot overflow; the check stays for the reader.
        u64 total = 0;
        if (__builtin_add_overflow(config_->total_memory_kib, domain.memory_kib, &total) ||
            total > host_kib) {
            return node.property_error(ErrorCode::kOutOfRange, kPropertyMemory,
                                       "{} KiB brings the total for all domains to {} KiB, "
                                       "host can give {} KiB",
                                       domain.memory_kib, total, host_kib);
        }
        config_->total_memory_kib = total;
        return ok_status();
    }

    // Sharing rules for multiboot modules across domains. The domain builder copies
    // kernel, ramdisk and config into each domain's own memory, so one module may serve
    // several domains in the same role (one kernel for two guests). It may not serve two
    // roles, and every node that names its relay,file must name the same file.
    [[gnu::noinline]] Status record_modules(const DeviceTreeNode& parent,
                                            const DomainConfig& domain) {
        NodePath path = parent.path().child(domain.name);
        for (ModuleRole role : {ModuleRole::kKernel, ModuleRole::kRamdisk, ModuleRole::kConfig}) {
            const DomainModule& module = domain.module(role);
            if (!module.present) {
                continue;
            }
            ModuleUse& use = config_->modules[module.multiboot_index];
            if (use.user_count > 0 && use.role != role) {
                Error error(ErrorCode::kInvalidArgument,
                            "multiboot module {} is already the {} of {}; one module cannot be "
                            "both {} and {}",
                            module.multiboot_index, module_role_name(use.role),
                            domain_path(config_->domains[use.first_domain]),
                            module_role_name(use.role), module_role_name(role));
                error.prefix("{}: property \"{}\": ", path.child(module.node_name),
                             kPropertyMultibootIndex);
                return error;
            }
            if (!module.host_file.empty() && !use.host_file.empty() &&
                module.host_file != use.host_file) {
                Error error(ErrorCode::kInvalidArgument,
                            "\"{}\", but another node gives \"{}\" for multiboot module {}",
                            module.host_file, use.host_file, module.multiboot_index);
                error.prefix("{}: property \"{}\": ", path.child(module.node_name),
                             kPropertyHostFile);
                return error;
            }
            if (use.user_count == 0) {
                use.first_domain = static_cast<u32>(config_->domain_count);
            }
            use.role = role;
            ++use.user_count;
            if (use.host_file.empty()) {
                use.host_file = module.host_file;
            }
        }
        return ok_status();
    }

    ModuleList modules_;
    const HostLimits& limits_;
    HyperlaunchConfig* config_;
};

}  // namespace

Status parse_hyperlaunch_config(std::span<const u8> blob, ModuleList modules,
                                const HostLimits& limits, HyperlaunchConfig* config) {
    config->reset();
    ConfigParser parser(modules, limits, config);
    Status status = parser.parse(blob);
    if (!status.ok()) {
        config->reset();
    }
    return status;
}

}  // namespace relay::hyperlaunch
