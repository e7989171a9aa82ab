#include "hv/config/domain_roles.hpp"

#include "hv/config/hyperlaunch_binding.hpp"

namespace relay::hyperlaunch {
namespace {

constexpr RoleFlag kPermissionFlags[] = {
    {kPermissionControl, "PERMISSION_CONTROL", "control", nullptr},
    {kPermissionHardware, "PERMISSION_HARDWARE", "hardware", nullptr},
};

constexpr RoleFlag kFunctionFlags[] = {
    // Relay's boot domain drives the boot-time sequence; unlike Xen's it gets no
    // implicit privilege over the other domains (pair it with PERMISSION_CONTROL).
    {kFunctionBoot, "FUNCTION_BOOT", "boot", nullptr},
    {kFunctionCrash, "FUNCTION_CRASH", "crash", "Relay has no crash (recovery) domain"},
    {kFunctionConsole, "FUNCTION_CONSOLE", "console",
     "Relay keeps the console in the hypervisor; no domain can own it"},
    {kFunctionXenstore, "FUNCTION_XENSTORE", "xenstore", "Relay has no XenStore"},
    {kFunctionLegacyDom0, "FUNCTION_LEGACY_DOM0", "legacy-dom0",
     "Relay has no all-powerful dom0; give the domain the permissions it needs instead"},
};

}  // namespace

std::span<const RoleFlag> permission_flags() {
    return std::span<const RoleFlag>(kPermissionFlags);
}

std::span<const RoleFlag> function_flags() {
    return std::span<const RoleFlag>(kFunctionFlags);
}

u32 defined_bits(std::span<const RoleFlag> flags) {
    u32 bits = 0;
    for (const RoleFlag& flag : flags) {
        bits |= flag.bit;
    }
    return bits;
}

void write_flag_names(FormatOutput& output, u32 bits, std::span<const RoleFlag> flags) {
    if (bits == 0) {
        format(output, "none");
        return;
    }
    const char* separator = "";
    for (const RoleFlag& flag : flags) {
        if ((bits & flag.bit) != 0) {
            format(output, "{}{}", separator, flag.short_name);
            separator = ",";
        }
    }
    u32 unnamed = bits & ~defined_bits(flags);
    if (unnamed != 0) {
        format(output, "{}{:#x}", separator, unnamed);
    }
}

}  // namespace relay::hyperlaunch
