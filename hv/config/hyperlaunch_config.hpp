// The validated Hyperlaunch configuration: plain data, no pointers into libfdt, ready to
// be translated into the HostState schema (one DomainConfig per domain table).
//
// Strings are views into the device-tree blob the config was parsed from: the blob must
// stay alive (and unchanged) while the config is used. The parser has checked every one
// of them (terminated, printable, bounded), so they can be printed as they are.
// Compiles freestanding and hosted.
#pragma once

#include <span>
#include <string_view>

#include "hv/config/hyperlaunch_binding.hpp"
#include "lib/pci_function.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

// Capacities. kMaxBootModules matches the hypervisor's BootInfo::kMaxModules.
inline constexpr usize kMaxDomains = 64;
inline constexpr usize kMaxBootModules = 64;
// Device-tree node names are at most 31 characters plus a unit address (Devicetree
// Specification v0.4 §2.2.1); 63 leaves room for both.
inline constexpr usize kMaxNodeNameLength = 63;
// PCI functions one domain may have assigned (relay,passthrough).
inline constexpr usize kMaxPassthrough = 8;

// What a domain uses a multiboot module for ("Module node": module,<type>).
enum class ModuleRole : u8 {
    kNone = 0,
    kKernel = 1,   // module,kernel: the image the domain boots
    kRamdisk = 2,  // module,ramdisk: an initial RAM disk, copied into the domain
    kConfig = 3,   // module,config: a configuration file, copied into the domain
};

inline constexpr usize kModuleRoleCount = 4;

const char* module_role_name(ModuleRole role);

struct Uuid {
    u8 bytes[kUuidLength] = {};

    // The binding's default when `domain-uuid` is absent ("the default is NULL").
    bool is_nil() const;
    bool operator==(const Uuid&) const = default;
};

// A module node of a domain.
struct DomainModule {
    bool present = false;
    std::string_view node_name;  // e.g. "kernel"; the node is <domain path>/<node_name>
    u32 multiboot_index = 0;     // mb-index: position in the multiboot module chain (>= 1)
    std::string_view bootargs;   // kernel only; empty when the node has none
    std::string_view host_file;  // relay,file (launcher hint); empty when absent
};

struct DomainConfig {
    std::string_view name;  // the node's name; the node is /chosen/hypervisor/<name>
    u16 domid = 0;          // 1 .. kDomidFirstReserved - 1, unique
    u32 permissions = 0;    // kPermission* bits
    u32 functions = 0;      // kFunction* bits Relay supports
    u32 mode = kModeRelayGuest;
    Uuid uuid;                     // nil when absent
    u32 cpus = 1;                  // vCPUs, >= 1
    u64 memory_kib = 0;            // > 0, whole 4 KiB pages; memory_kib * KiB fits a u64
    std::string_view security_id;  // empty when absent (Relay enforces no XSM policy)
    DomainModule kernel;           // always present in a validated config
    DomainModule ramdisk;
    DomainModule config;
    // relay,passthrough: assigned PCI functions, each in one domain only (docs/iommu.md).
    PciFunction passthrough[kMaxPassthrough];
    usize passthrough_count = 0;

    bool has_permission(u32 permission) const { return (permissions & permission) != 0; }
    bool has_function(u32 function) const { return (functions & function) != 0; }
    u64 memory_bytes() const { return memory_kib * KiB; }

    const DomainModule& module(ModuleRole role) const;
    DomainModule& module(ModuleRole role);
};

// How one multiboot module is used, over all domains.
struct ModuleUse {
    ModuleRole role = ModuleRole::kNone;  // kNone: no module node refers to it
    u32 user_count = 0;                   // module nodes that refer to it
    u32 first_domain = 0;                 // index in HyperlaunchConfig::domains of its first user
    std::string_view host_file;           // relay,file, when any of them gave it
};

// Properties of the `config` nodes ("Config Node"). Relay honours no config-node
// module or property yet; the count is kept so that tools can show what was there.
struct HostConfig {
    u32 node_count = 0;
};

struct HyperlaunchConfig {
    // Which `compatible` strings the hypervisor node lists.
    bool compatible_xen = false;
    bool compatible_relay = false;

    HostConfig host;

    usize domain_count = 0;
    DomainConfig domains[kMaxDomains];

    // Multiboot modules the boot loader passed (index 0 is the device tree).
    usize module_count = 0;
    ModuleUse modules[kMaxBootModules];

    u64 total_memory_kib = 0;

    // Resets to the empty configuration in place (the structure is large: no temporary).
    void reset();

    std::span<const DomainConfig> domain_list() const {
        return std::span<const DomainConfig>(domains, domain_count);
    }
    std::span<const ModuleUse> module_uses() const {
        return std::span<const ModuleUse>(modules, module_count);
    }
    const DomainConfig* find_domain(u16 domid) const;
};

}  // namespace relay::hyperlaunch
