#include "lib/pci_function.hpp"

#include "lib/format.hpp"
#include "lib/strings.hpp"

namespace relay {

namespace {

bool hex_field(std::string_view text, usize digits, u32* out) {
    if (text.size() != digits) {
        return false;
    }
    u32 value = 0;
    for (char c : text) {
        u32 digit;
        if (c >= '0' && c <= '9') {
            digit = static_cast<u32>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<u32>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<u32>(c - 'A' + 10);
        } else {
            return false;
        }
        value = value * 16 + digit;
    }
    *out = value;
    return true;
}

}  // namespace

bool parse_pci_function(std::string_view text, PciFunction* out) {
    u32 segment = 0;
    // SSSS:BB:DD.F is 12 characters, BB:DD.F is 7.
    if (text.size() == 12) {
        if (text[4] != ':' || !hex_field(prefix_of(text, 4), 4, &segment)) {
            return false;
        }
        text = suffix_from(text, 5);
    }
    u32 bus = 0;
    u32 device = 0;
    u32 function = 0;
    if (text.size() != 7 || text[2] != ':' || text[5] != '.' ||
        !hex_field(prefix_of(text, 2), 2, &bus) || !hex_field(slice(text, 3, 5), 2, &device) ||
        !hex_field(slice(text, 6, 7), 1, &function) || device > 0x1F || function > 7) {
        return false;
    }
    *out = PciFunction{static_cast<u16>(segment), static_cast<u8>(bus), static_cast<u8>(device),
                       static_cast<u8>(function)};
    return true;
}

PciFunctionText pci_function_text(const PciFunction& function) {
    PciFunctionText text{};
    if (function.segment != 0) {
        format_to_buffer(text.text, sizeof(text.text), "{:04x}:{:02x}:{:02x}.{}", function.segment,
                         function.bus, function.device, function.function);
    } else {
        format_to_buffer(text.text, sizeof(text.text), "{:02x}:{:02x}.{}", function.bus,
                         function.device, function.function);
    }
    return text;
}

}  // namespace relay
