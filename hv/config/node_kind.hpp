// The kinds of node in a Hyperlaunch tree ("The Hypervisor node", "Config Node",
// "Domain Node", "Module node" of Xen's binding), as bits so that a property can be
// allowed on several. Compiles freestanding and hosted.
#pragma once

#include "lib/types.hpp"

namespace relay::hyperlaunch {

enum NodeKind : u8 {
    kNodeHypervisor = 1u << 0,
    kNodeConfig = 1u << 1,
    kNodeDomain = 1u << 2,
    kNodeModule = 1u << 3,
    kNodeAnyKind = kNodeHypervisor | kNodeConfig | kNodeDomain | kNodeModule,
};

constexpr const char* node_kind_name(NodeKind kind) {
    switch (kind) {
        case kNodeHypervisor:
            return "hypervisor";
        case kNodeConfig:
            return "config";
        case kNodeDomain:
            return "domain";
        case kNodeModule:
            return "module";
        case kNodeAnyKind:
            break;
    }
    return "Hyperlaunch";
}

}  // namespace relay::hyperlaunch
