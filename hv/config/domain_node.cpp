#include "hv/config/domain_node.hpp"

#include "hv/config/domain_roles.hpp"
#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/module_node.hpp"
#include "hv/config/node_properties.hpp"
#include "hv/config/vendor_properties.hpp"

namespace relay::hyperlaunch {
namespace {

constexpr u64 kPageSizeKib = kPageSize4K / KiB;

// Each reader below handles one property, out of line: the locals of one are never on
// the stack with those of another (the hypervisor parses on a boot stack).

[[gnu::noinline]] Status read_domid(const DeviceTreeNode& node, DomainConfig* domain) {
    if (!node.has(kPropertyDomid)) {
        return node.property_error(ErrorCode::kNotFound, kPropertyDomid,
                                   "missing; Relay builds no dom0 and picks no ids, so every "
                                   "domain needs an explicit domid from 1 to {:#x}",
                                   kDomidFirstReserved - 1);
    }
    RELAY_TRY_ASSIGN(domid, node.read_u32(kPropertyDomid));
    if (domid == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyDomid,
                                   "is 0; Relay has no dom0 and picks no ids: give the domain "
                                   "an id from 1 to {:#x}",
                                   kDomidFirstReserved - 1);
    }
    if (domid >= kDomidFirstReserved) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyDomid,
                                   "is {:#x}, in the range reserved for special domains "
                                   "(DOMID_FIRST_RESERVED {:#x} and up); use 1 to {:#x}",
                                   domid, kDomidFirstReserved, kDomidFirstReserved - 1);
    }
    domain->domid = static_cast<u16>(domid);
    return ok_status();
}

// Reads a bit-field property against its flag table: unknown bits and bits Relay does
// not honour are refused, each with its name.
[[gnu::noinline]] Status read_role_flags(const DeviceTreeNode& node, const char* property,
                                         std::span<const RoleFlag> flags, u32* out) {
    RELAY_TRY_ASSIGN(bits, node.read_u32_or(property, 0));
    u32 unknown = bits & ~defined_bits(flags);
    if (unknown != 0) {
        return node.property_error(ErrorCode::kInvalidArgument, property,
                                   "{:#x} has bits {:#x} that the binding does not define", bits,
                                   unknown);
    }
    for (const RoleFlag& flag : flags) {
        if ((bits & flag.bit) != 0 && flag.unsupported_reason != nullptr) {
            return node.property_error(ErrorCode::kUnsupported, property,
                                       "{} ({:#x}) is not supported: {}", flag.binding_name,
                                       flag.bit, flag.unsupported_reason);
        }
    }
    *out = bits;
    return ok_status();
}

// `mode` is required by the binding, but its own examples omit it; Relay takes the one
// mode it runs when it is absent, and refuses every other combination by name.
[[gnu::noinline]] Status read_mode(const DeviceTreeNode& node, DomainConfig* domain) {
    RELAY_TRY_ASSIGN(mode, node.read_u32_or(kPropertyMode, kModeRelayGuest));
    constexpr u32 kDefined = kModeParavirtualized | kModeEnableDeviceModel | kModeLong;
    const char* problem = nullptr;
    if ((mode & ~kDefined) != 0) {
        problem = "has bits the binding does not define";
    } else if ((mode & kModeParavirtualized) != 0) {
        problem = "asks for a PV guest (MODE_PARAVIRTUALIZED)";
    } else if ((mode & kModeEnableDeviceModel) != 0) {
        problem = "asks for a device model (MODE_ENABLE_DEVICE_MODEL); Relay has none";
    } else if ((mode & kModeLong) == 0) {
        problem = "asks for a 32-bit guest (MODE_LONG clear)";
    }
    if (problem != nullptr) {
        return node.property_error(ErrorCode::kUnsupported, kPropertyMode,
                                   "{:#x} {}; Relay runs 64-bit HVM guests without a device "
                                   "model (SVM with nested paging): mode = <{:#x}>",
                                   mode, problem, kModeRelayGuest);
    }
    domain->mode = mode;
    return ok_status();
}

[[gnu::noinline]] Status read_uuid(const DeviceTreeNode& node, DomainConfig* domain) {
    PropertyValue value;
    if (!node.find(kPropertyDomainUuid, &value)) {
        return ok_status();
    }
    if (value.length != kUuidLength) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyDomainUuid,
                                   "is {} bytes; a UUID is {} bytes", value.length, kUuidLength);
    }
    for (usize i = 0; i < kUuidLength; ++i) {
        domain->uuid.bytes[i] = value.data[i];
    }
    return ok_status();
}

[[gnu::noinline]] Status read_cpus(const DeviceTreeNode& node, const HostLimits& limits,
                                   DomainConfig* domain) {
    RELAY_TRY_ASSIGN(cpus, node.read_u32_or(kPropertyCpus, 1));
    if (cpus == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyCpus,
                                   "is 0; a domain needs at least 1 vCPU");
    }
    // Plurals: a host may have 1 CPU, and a domain may ask 1 vCPU of a host with none.
    const char* vcpus = cpus == 1 ? "vCPU" : "vCPUs";
    if (cpus > limits.physical_cpus) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyCpus,
                                   "{} {} requested; the host has {} physical CPU{}", cpus, vcpus,
                                   limits.physical_cpus, limits.physical_cpus == 1 ? "" : "s");
    }
    if (cpus > limits.max_vcpus_per_domain) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyCpus,
                                   "{} {} requested; Relay allows at most {} per domain", cpus,
                                   vcpus, limits.max_vcpus_per_domain);
    }
    domain->cpus = cpus;
    return ok_status();
}

[[gnu::noinline]] Status read_memory(const DeviceTreeNode& node, const HostLimits& limits,
                                     DomainConfig* domain) {
    PropertyValue value;
    if (!node.find(kPropertyMemory, &value)) {
        return node.property_error(ErrorCode::kNotFound, kPropertyMemory,
                                   "missing; the binding requires the domain's memory in KiB "
                                   "as two cells <high low>");
    }
    if (value.length == 4 * sizeof(u32)) {
        return node.property_error(ErrorCode::kUnsupported, kPropertyMemory,
                                   "has 4 cells (a minimum and a maximum); Relay gives a "
                                   "domain fixed memory: give one size <high low> in KiB");
    }
    RELAY_TRY_ASSIGN(memory_kib, node.read_u64(kPropertyMemory));
    u64 host_kib = limits.guest_memory_bytes / KiB;
    if (memory_kib == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyMemory,
                                   "is 0 KiB; a domain needs memory");
    }
    if (memory_kib > kMaxDomainMemoryKib) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyMemory,
                                   "{} KiB requested, a domain can have at most {} KiB (2^52 "
                                   "bytes)",
                                   memory_kib, kMaxDomainMemoryKib);
    }
    if (memory_kib > host_kib) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyMemory,
                                   "{} KiB requested, host can give {} KiB", memory_kib, host_kib);
    }
    if (memory_kib % kPageSizeKib != 0) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertyMemory,
                                   "{} KiB is not a whole number of {} KiB pages", memory_kib,
                                   kPageSizeKib);
    }
    domain->memory_kib = memory_kib;
    return ok_status();
}

[[gnu::noinline]] Status read_security_id(const DeviceTreeNode& node, DomainConfig* domain) {
    if (!node.has(kPropertySecurityId)) {
        return ok_status();
    }
    RELAY_TRY_ASSIGN(security_id, node.read_string(kPropertySecurityId, kMaxSecurityIdLength));
    if (security_id.empty()) {
        return node.property_error(ErrorCode::kInvalidArgument, kPropertySecurityId,
                                   "is an empty string; leave it out instead");
    }
    domain->security_id = security_id;
    return ok_status();
}

// relay,passthrough = "BB:DD.F", ...: the PCI functions assigned to the domain.
[[gnu::noinline]] Status read_passthrough(const DeviceTreeNode& node, DomainConfig* domain) {
    if (!node.has(kPropertyPassthrough)) {
        return ok_status();
    }
    StringList list;
    RELAY_TRY(node.read_string_list(kPropertyPassthrough, &list));
    if (list.count > kMaxPassthrough) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyPassthrough,
                                   "lists {} PCI functions; a domain may have at most {}",
                                   list.count, kMaxPassthrough);
    }
    for (usize i = 0; i < list.count; ++i) {
        PciFunction function;
        if (!parse_pci_function(list.entries[i], &function)) {
            return node.property_error(ErrorCode::kInvalidArgument, kPropertyPassthrough,
                                       "\"{}\" is not a PCI function (BB:DD.F or SSSS:BB:DD.F in "
                                       "hexadecimal, device up to 1f, function up to 7)",
                                       list.entries[i]);
        }
        for (usize j = 0; j < domain->passthrough_count; ++j) {
            if (domain->passthrough[j] == function) {
                return node.property_error(ErrorCode::kAlreadyExists, kPropertyPassthrough,
                                           "lists {} twice", pci_function_text(function).view());
            }
        }
        domain->passthrough[domain->passthrough_count++] = function;
    }
    return ok_status();
}

// Adds one module node to the domain: at most one module per role, and no multiboot
// module used twice by the same domain.
[[gnu::noinline]] Status add_module(const DeviceTreeNode& node, ModuleList modules,
                                    DomainConfig* domain) {
    RELAY_TRY_ASSIGN(type, read_module_type(node));
    ModuleRole role = domain_role(type);
    if (role == ModuleRole::kNone) {
        return unsupported_module_error(node, type, kNodeDomain);
    }
    RELAY_TRY_ASSIGN(module, parse_domain_module(node, role, modules));
    const DomainModule& existing = domain->module(role);
    if (existing.present) {
        return node.node_error(ErrorCode::kAlreadyExists,
                               "second {} module; the domain already has {} (one {} per "
                               "domain)",
                               module_role_name(role), existing.node_name, module_role_name(role));
    }
    for (ModuleRole other : {ModuleRole::kKernel, ModuleRole::kRamdisk, ModuleRole::kConfig}) {
        const DomainModule& used = domain->module(other);
        if (used.present && used.multiboot_index == module.multiboot_index) {
            return node.property_error(ErrorCode::kAlreadyExists, kPropertyMultibootIndex,
                                       "multiboot module {} is already this domain's {} ({})",
                                       module.multiboot_index, module_role_name(other),
                                       used.node_name);
        }
    }
    domain->module(role) = module;
    return ok_status();
}

// The domain builder copies kernel, ramdisk and config into the domain's own memory, so
// they must fit in it (a necessary condition; the kernel's load size is checked by the
// builder).
[[gnu::noinline]] Status check_modules_fit(const DeviceTreeNode& node, ModuleList modules,
                                           const DomainConfig& domain) {
    u64 total = 0;
    for (ModuleRole role : {ModuleRole::kKernel, ModuleRole::kRamdisk, ModuleRole::kConfig}) {
        const DomainModule& module = domain.module(role);
        if (!module.present || !modules[module.multiboot_index].size_known) {
            continue;
        }
        if (__builtin_add_overflow(total, modules[module.multiboot_index].size, &total)) {
            total = ~u64{0};
        }
    }
    if (total > domain.memory_bytes()) {
        return node.property_error(ErrorCode::kOutOfRange, kPropertyMemory,
                                   "{} KiB cannot hold the domain's modules ({} bytes are "
                                   "copied into its memory)",
                                   domain.memory_kib, total);
    }
    return ok_status();
}

}  // namespace

Status parse_domain_node(const DeviceTreeNode& node, ModuleList modules, const HostLimits& limits,
                         DomainConfig* domain) {
    *domain = DomainConfig{};
    RELAY_TRY(node.check_name());
    domain->name = node.name();
    RELAY_TRY(check_node_properties(node, kNodeDomain));
    RELAY_TRY(read_domid(node, domain));
    RELAY_TRY(
        read_role_flags(node, kPropertyPermissions, permission_flags(), &domain->permissions));
    RELAY_TRY(read_role_flags(node, kPropertyFunctions, function_flags(), &domain->functions));
    RELAY_TRY(read_mode(node, domain));
    RELAY_TRY(read_uuid(node, domain));
    RELAY_TRY(read_cpus(node, limits, domain));
    RELAY_TRY(read_memory(node, limits, domain));
    RELAY_TRY(read_security_id(node, domain));
    RELAY_TRY(read_passthrough(node, domain));
    RELAY_TRY(node.for_each_child(
        [&](const DeviceTreeNode& child) { return add_module(child, modules, domain); }));
    if (!domain->kernel.present) {
        return node.node_error(ErrorCode::kNotFound,
                               "no kernel: a domain needs one module node with compatible "
                               "\"module,kernel\"");
    }
    return check_modules_fit(node, modules, *domain);
}

}  // namespace relay::hyperlaunch
