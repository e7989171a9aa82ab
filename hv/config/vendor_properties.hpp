// Relay's own device-tree properties, in the `relay,` vendor namespace (Devicetree
// Specification v0.4 §2.3: vendor-prefixed names). This is the one table of them: a
// property in the namespace that is not listed here is refused, so a typo or a config
// written for a newer Relay never passes silently. docs/hyperlaunch.md documents each.
// Compiles freestanding and hosted.
#pragma once

#include <span>
#include <string_view>

#include "hv/config/node_kind.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

inline constexpr std::string_view kVendorPrefix = "relay,";

inline constexpr const char* kPropertyHostFile = "relay,file";
inline constexpr const char* kPropertyPassthrough = "relay,passthrough";

enum class VendorPropertyStatus : u8 {
    // Read by host tools only; the hypervisor checks its form and otherwise ignores it.
    kHostHint,
    // Configures the hypervisor.
    kHonoured,
    // Name taken for a feature this build does not implement: refused with `purpose`.
    kReserved,
};

struct VendorProperty {
    const char* name;
    u8 node_kinds;  // NodeKind bits: where the property may appear
    VendorPropertyStatus status;
    const char* purpose;
};

std::span<const VendorProperty> vendor_properties();

// The table entry for `name`, or nullptr when Relay defines no such property.
const VendorProperty* find_vendor_property(std::string_view name);

}  // namespace relay::hyperlaunch
