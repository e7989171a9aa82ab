// Names of the guest ABI's constants (hv/abi/hypercall.h) as the test guests print and
// parse them: "EPERM", "running", "poweroff", "domain_pause". One table per kind, so a
// code added to the ABI is added here once. Shared: the control script's parser uses
// them on the host too.
#pragma once

#include <string_view>

#include "lib/types.hpp"

namespace relay::guest {

// "EPERM" for RELAY_EPERM; nullptr for a value that is no RELAY_E* code.
const char* error_name(i64 code);

// Accepts "EPERM" (a name) or "-1" (the value). Returns false for anything else.
bool parse_error_code(std::string_view text, i64* code);

// "configured", "running", "paused", "crashed", "shut-down"; nullptr when unknown.
const char* lifecycle_name(u8 lifecycle);
bool parse_lifecycle(std::string_view text, u8* lifecycle);

// "poweroff", "reboot", "crash"; nullptr when unknown.
const char* shutdown_reason_name(u64 reason);
bool parse_shutdown_reason(std::string_view text, u64* reason);

// "version", "console_write", ...; nullptr for an unknown number.
const char* hypercall_name(u64 number);

}  // namespace relay::guest
