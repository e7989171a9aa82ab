#include "hv/config/node_properties.hpp"

#include <string_view>

#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/text_pieces.hpp"
#include "hv/config/vendor_properties.hpp"

namespace relay::hyperlaunch {
namespace {

struct BindingProperty {
    const char* name;
    u8 node_kinds;  // NodeKind bits
    // nullptr when Relay supports the property; otherwise why it cannot.
    const char* unsupported_reason;
};

constexpr BindingProperty kBindingProperties[] = {
    {kPropertyCompatible, kNodeAnyKind, nullptr},
    // Structural properties of any device tree; they carry nothing Relay uses (children
    // are located by mb-index, not by reg).
    {"#address-cells", kNodeAnyKind, nullptr},
    {"#size-cells", kNodeAnyKind, nullptr},
    {"phandle", kNodeAnyKind, nullptr},
    // "Domain Node".
    {kPropertyDomid, kNodeDomain, nullptr},
    {kPropertyPermissions, kNodeDomain, nullptr},
    {kPropertyFunctions, kNodeDomain, nullptr},
    {kPropertyMode, kNodeDomain, nullptr},
    {kPropertyDomainUuid, kNodeDomain, nullptr},
    {kPropertyCpus, kNodeDomain, nullptr},
    {kPropertyMemory, kNodeDomain, nullptr},
    {kPropertySecurityId, kNodeDomain, nullptr},
    // "Module node".
    {kPropertyMultibootIndex, kNodeModule, nullptr},
    {kPropertyBootargs, kNodeModule, nullptr},
    {kPropertyModuleAddress, kNodeModule,
     "Relay boots by multiboot only and finds modules by mb-index, not by address"},
};

const BindingProperty* find_binding_property(std::string_view name) {
    for (const BindingProperty& property : kBindingProperties) {
        if (name == property.name) {
            return &property;
        }
    }
    return nullptr;
}

Status check_vendor_property(const DeviceTreeNode& node, NodeKind kind, std::string_view name) {
    const VendorProperty* property = find_vendor_property(name);
    if (property == nullptr) {
        return node.property_error(ErrorCode::kUnsupported, name,
                                   "unknown property in Relay's \"relay,\" namespace (this "
                                   "build knows relay,file and relay,passthrough)");
    }
    if ((property->node_kinds & kind) == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, name, "not allowed on a {} node",
                                   node_kind_name(kind));
    }
    if (property->status == VendorPropertyStatus::kReserved) {
        return node.property_error(ErrorCode::kUnsupported, name,
                                   "reserved for {}; this build does not support it yet",
                                   property->purpose);
    }
    return ok_status();
}

Status check_property(const DeviceTreeNode& node, NodeKind kind, std::string_view name) {
    if (has_prefix(name, kVendorPrefix)) {
        return check_vendor_property(node, kind, name);
    }
    const BindingProperty* property = find_binding_property(name);
    if (property == nullptr) {
        return node.property_error(ErrorCode::kUnsupported, name,
                                   "unknown property: neither Xen's Hyperlaunch binding nor "
                                   "Relay's relay, extensions define it");
    }
    if ((property->node_kinds & kind) == 0) {
        return node.property_error(ErrorCode::kInvalidArgument, name, "not a property of a {} node",
                                   node_kind_name(kind));
    }
    if (property->unsupported_reason != nullptr) {
        return node.property_error(ErrorCode::kUnsupported, name, "not supported: {}",
                                   property->unsupported_reason);
    }
    return ok_status();
}

}  // namespace

Status check_node_properties(const DeviceTreeNode& node, NodeKind kind) {
    // Duplicates are found by walking the node's properties again up to the current one
    // (at most kMaxPropertiesPerNode squared steps) rather than by keeping the names: the
    // hypervisor parses on a boot stack.
    usize index = 0;
    return node.for_each_property([&](std::string_view name, const PropertyValue&) -> Status {
        usize earlier = 0;
        bool duplicate = false;
        RELAY_TRY(node.for_each_property([&](std::string_view other, const PropertyValue&) {
            if (earlier < index && other == name) {
                duplicate = true;
            }
            ++earlier;
            return ok_status();
        }));
        if (duplicate) {
            return node.property_error(ErrorCode::kInvalidArgument, name,
                                       "appears twice in the node");
        }
        ++index;
        return check_property(node, kind, name);
    });
}

}  // namespace relay::hyperlaunch
