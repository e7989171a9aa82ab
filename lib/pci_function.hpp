// A PCI function's address: segment, bus, device, function. Written as BB:DD.F or
// SSSS:BB:DD.F in hexadecimal (as Linux and Xen print them); the 16-bit "BDF" (routing
// ID, AMD-Vi DeviceID) is (bus << 8) | (device << 3) | function. Freestanding and hosted.
#pragma once

#include <string_view>

#include "lib/types.hpp"

namespace relay {

struct PciFunction {
    u16 segment = 0;
    u8 bus = 0;
    u8 device = 0;    // 0..31
    u8 function = 0;  // 0..7

    constexpr u16 bdf() const { return static_cast<u16>((bus << 8) | (device << 3) | function); }
    static constexpr PciFunction from_bdf(u16 segment, u16 bdf) {
        return PciFunction{segment, static_cast<u8>(bdf >> 8), static_cast<u8>((bdf >> 3) & 0x1F),
                           static_cast<u8>(bdf & 7)};
    }
    constexpr bool operator==(const PciFunction&) const = default;
};

// Parses "BB:DD.F" or "SSSS:BB:DD.F" (hexadecimal; bus two digits, device two, function
// one, segment four). False for anything else, including a device above 0x1f or a
// function above 7.
bool parse_pci_function(std::string_view text, PciFunction* out);

// "00:04.0", or "0001:00:04.0" outside segment 0. Use it inside the formatting call:
//   log_info("{}", pci_function_text(f).view());
struct PciFunctionText {
    char text[16];
    std::string_view view() const { return text; }
};
PciFunctionText pci_function_text(const PciFunction& function);

}  // namespace relay
