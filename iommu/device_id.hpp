// PCI requester identities as an IOMMU sees them: a 16-bit device id (bus 15:8, device
// 7:3, function 2:0, the PCI "BDF") inside a PCI segment group. AMD-Vi indexes its
// device table by the device id (AMD IOMMU spec #48882 §2.2.2); VT-d uses the same
// identity for its context tables. Freestanding and hosted.
#pragma once

#include <string_view>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay::iommu {

struct DeviceId {
    u16 raw = 0;

    constexpr DeviceId() = default;
    constexpr explicit DeviceId(u16 value) : raw(value) {}
    static constexpr DeviceId from(u8 bus, u8 device, u8 function) {
        return DeviceId(static_cast<u16>((bus << 8) | ((device & 0x1F) << 3) | (function & 7)));
    }

    constexpr u8 bus() const { return static_cast<u8>(raw >> 8); }
    constexpr u8 device() const { return static_cast<u8>((raw >> 3) & 0x1F); }
    constexpr u8 function() const { return static_cast<u8>(raw & 7); }

    // "bb:dd.f" in hex, the way lspci and QEMU print it.
    FixedString<8> text() const {
        return FixedString<8>::formatted("{:02x}:{:02x}.{:x}", bus(), device(), function());
    }

    constexpr auto operator<=>(const DeviceId&) const = default;
};

// A device in a PCI segment group (ACPI "PCI Segment Group", IVHD offset 16).
struct PciDevice {
    u16 segment = 0;
    DeviceId id;

    constexpr bool operator==(const PciDevice&) const = default;
};

}  // namespace relay::iommu
