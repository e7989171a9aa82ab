#include "hv/config/vendor_properties.hpp"

namespace relay::hyperlaunch {
namespace {

constexpr VendorProperty kVendorProperties[] = {
    {
        .name = kPropertyHostFile,
        .node_kinds = kNodeModule,
        .status = VendorPropertyStatus::kHostHint,
        .purpose = "the file, relative to the repository root, that the launcher loads as "
                   "this multiboot module",
    },
    {
        .name = kPropertyPassthrough,
        .node_kinds = kNodeDomain,
        .status = VendorPropertyStatus::kHonoured,
        .purpose = "PCI functions (BB:DD.F or SSSS:BB:DD.F) assigned to the domain; their DMA "
                   "goes through the IOMMU",
    },
};

}  // namespace

std::span<const VendorProperty> vendor_properties() {
    return std::span<const VendorProperty>(kVendorProperties);
}

const VendorProperty* find_vendor_property(std::string_view name) {
    for (const VendorProperty& property : kVendorProperties) {
        if (name == property.name) {
            return &property;
        }
    }
    return nullptr;
}

}  // namespace relay::hyperlaunch
