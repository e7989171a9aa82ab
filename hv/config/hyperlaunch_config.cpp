#include "hv/config/hyperlaunch_config.hpp"

#include "lib/assert.hpp"

namespace relay::hyperlaunch {

const char* module_role_name(ModuleRole role) {
    switch (role) {
        case ModuleRole::kNone:
            return "unused";
        case ModuleRole::kKernel:
            return "kernel";
        case ModuleRole::kRamdisk:
            return "ramdisk";
        case ModuleRole::kConfig:
            return "config";
    }
    return "unknown";
}

bool Uuid::is_nil() const {
    for (u8 byte : bytes) {
        if (byte != 0) {
            return false;
        }
    }
    return true;
}

const DomainModule& DomainConfig::module(ModuleRole role) const {
    RELAY_ASSERT(role != ModuleRole::kNone);
    switch (role) {
        case ModuleRole::kRamdisk:
            return ramdisk;
        case ModuleRole::kConfig:
            return config;
        case ModuleRole::kKernel:
        case ModuleRole::kNone:
            break;
    }
    return kernel;
}

DomainModule& DomainConfig::module(ModuleRole role) {
    return const_cast<DomainModule&>(static_cast<const DomainConfig&>(*this).module(role));
}

void HyperlaunchConfig::reset() {
    compatible_xen = false;
    compatible_relay = false;
    host = HostConfig{};
    for (DomainConfig& domain : domains) {
        domain = DomainConfig{};
    }
    domain_count = 0;
    for (ModuleUse& use : modules) {
        use = ModuleUse{};
    }
    module_count = 0;
    total_memory_kib = 0;
}

const DomainConfig* HyperlaunchConfig::find_domain(u16 domid) const {
    for (const DomainConfig& domain : domain_list()) {
        if (domain.domid == domid) {
            return &domain;
        }
    }
    return nullptr;
}

}  // namespace relay::hyperlaunch
