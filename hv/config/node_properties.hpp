// Which properties each kind of Hyperlaunch node may carry. Relay refuses every property
// it does not know instead of skipping it: a misspelt "memroy", a dom0less property Relay
// does not implement, or a relay, extension from a newer build would otherwise be
// ignored and the domain built differently from what the config says.
// Compiles freestanding and hosted.
#pragma once

#include "hv/config/device_tree_node.hpp"
#include "hv/config/node_kind.hpp"
#include "lib/result.hpp"

namespace relay::hyperlaunch {

// Checks every property of `node`, a node of `kind`: each is defined for that kind by
// Xen's binding (and supported by Relay), is a structural device-tree property
// (#address-cells, #size-cells, phandle), or is a relay, property allowed there; no
// name appears twice.
Status check_node_properties(const DeviceTreeNode& node, NodeKind kind);

}  // namespace relay::hyperlaunch
