// The permission and function bits of a domain ("Domain Node": permissions, functions),
// with their names and whether Relay honours them. One table per property: enabling a
// function once the hypervisor implements it is a one-line change here.
// Compiles freestanding and hosted.
#pragma once

#include <span>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

struct RoleFlag {
    u32 bit;
    const char* binding_name;  // as Xen's binding spells it ("FUNCTION_BOOT")
    const char* short_name;    // as Relay's tools print it ("boot")
    // nullptr when Relay honours the flag; otherwise why it cannot.
    const char* unsupported_reason;
};

std::span<const RoleFlag> permission_flags();
std::span<const RoleFlag> function_flags();

// All bits the binding defines for the property.
u32 defined_bits(std::span<const RoleFlag> flags);

// Writes the short names of the bits set in `bits` ("control,hardware"), "none" when no
// bit is set; bits with no name are written in hex.
void write_flag_names(FormatOutput& output, u32 bits, std::span<const RoleFlag> flags);

}  // namespace relay::hyperlaunch
