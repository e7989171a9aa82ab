// Domain nodes ("Domain Node" of Xen's binding): one domain's identity, roles, mode,
// vCPUs, memory and modules, each checked against what Relay can build on this host.
// Rules that span domains (unique domids, totals, module sharing) are the parser's.
// Compiles freestanding and hosted.
#pragma once

#include "hv/config/boot_environment.hpp"
#include "hv/config/device_tree_node.hpp"
#include "hv/config/hyperlaunch_config.hpp"
#include "lib/result.hpp"

namespace relay::hyperlaunch {

// Longest security-id Relay keeps.
inline constexpr usize kMaxSecurityIdLength = 255;

// Parses the domain node `node` (its compatible is already known to be "xen,domain")
// into `domain`.
Status parse_domain_node(const DeviceTreeNode& node, ModuleList modules, const HostLimits& limits,
                         DomainConfig* domain);

}  // namespace relay::hyperlaunch
