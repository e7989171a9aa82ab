#include "tests/guests/lib/abi_names.hpp"

#include "hv/abi/hypercall.h"
#include "lib/strings.hpp"

namespace relay::guest {

namespace {

struct Named {
    i64 value;
    const char* name;
};

constexpr Named kErrors[] = {
    {RELAY_EPERM, "EPERM"},
    {RELAY_ENOENT, "ENOENT"},
    {RELAY_EINVAL, "EINVAL"},
    {RELAY_EFAULT, "EFAULT"},
    {RELAY_EBUSY, "EBUSY"},
    {RELAY_ENOMEM, "ENOMEM"},
    {RELAY_ENOSYS, "ENOSYS"},
    {RELAY_ERANGE, "ERANGE"},
    {RELAY_ERESERVED, "ERESERVED"},
    {RELAY_ESTATE, "ESTATE"},
    {RELAY_EINCOMPATIBLE, "EINCOMPATIBLE"},
    {RELAY_EROLLEDBACK, "EROLLEDBACK"},
};

constexpr Named kLifecycles[] = {
    {RELAY_DOMAIN_CONFIGURED, "configured"}, {RELAY_DOMAIN_RUNNING, "running"},
    {RELAY_DOMAIN_PAUSED, "paused"},         {RELAY_DOMAIN_CRASHED, "crashed"},
    {RELAY_DOMAIN_SHUT_DOWN, "shut-down"},
};

constexpr Named kShutdownReasons[] = {
    {RELAY_SHUTDOWN_POWEROFF, "poweroff"},
    {RELAY_SHUTDOWN_REBOOT, "reboot"},
    {RELAY_SHUTDOWN_CRASH, "crash"},
};

constexpr Named kHypercalls[] = {
    {RELAY_HC_VERSION, "version"},
    {RELAY_HC_CONSOLE_WRITE, "console_write"},
    {RELAY_HC_DOMAIN_LIST, "domain_list"},
    {RELAY_HC_DOMAIN_INFO, "domain_info"},
    {RELAY_HC_VCPU_UP, "vcpu_up"},
    {RELAY_HC_DOMAIN_PAUSE, "domain_pause"},
    {RELAY_HC_DOMAIN_UNPAUSE, "domain_unpause"},
    {RELAY_HC_DOMAIN_DESTROY, "domain_destroy"},
    {RELAY_HC_YIELD, "yield"},
    {RELAY_HC_SHUTDOWN, "shutdown"},
    {RELAY_HC_STATE_EXPORT, "state_export"},
    {RELAY_HC_KEXEC_STAGE, "kexec_stage"},
    {RELAY_HC_KEXEC_UNLOAD, "kexec_unload"},
    {RELAY_HC_LIVE_UPDATE, "live_update"},
};
static_assert(array_size(kHypercalls) == RELAY_HC_COUNT, "name every hypercall");

template <usize N>
const char* name_of(const Named (&table)[N], i64 value) {
    for (const Named& entry : table) {
        if (entry.value == value) {
            return entry.name;
        }
    }
    return nullptr;
}

template <usize N>
bool value_of(const Named (&table)[N], std::string_view name, i64* value) {
    for (const Named& entry : table) {
        if (name == entry.name) {
            *value = entry.value;
            return true;
        }
    }
    return false;
}

}  // namespace

const char* error_name(i64 code) {
    return name_of(kErrors, code);
}

bool parse_error_code(std::string_view text, i64* code) {
    if (value_of(kErrors, text, code)) {
        return true;
    }
    if (text.size() < 2 || text[0] != '-') {
        return false;
    }
    u64 magnitude = 0;
    if (!parse_u64(suffix_from(text, 1), &magnitude) || magnitude == 0 ||
        magnitude > static_cast<u64>(INT64_MAX)) {
        return false;
    }
    *code = -static_cast<i64>(magnitude);
    return true;
}

const char* lifecycle_name(u8 lifecycle) {
    return name_of(kLifecycles, lifecycle);
}

bool parse_lifecycle(std::string_view text, u8* lifecycle) {
    i64 value = 0;
    if (!value_of(kLifecycles, text, &value)) {
        return false;
    }
    *lifecycle = static_cast<u8>(value);
    return true;
}

const char* shutdown_reason_name(u64 reason) {
    return reason > static_cast<u64>(INT64_MAX)
               ? nullptr
               : name_of(kShutdownReasons, static_cast<i64>(reason));
}

bool parse_shutdown_reason(std::string_view text, u64* reason) {
    i64 value = 0;
    if (!value_of(kShutdownReasons, text, &value)) {
        return false;
    }
    *reason = static_cast<u64>(value);
    return true;
}

const char* hypercall_name(u64 number) {
    return number > static_cast<u64>(INT64_MAX) ? nullptr
                                                : name_of(kHypercalls, static_cast<i64>(number));
}

}  // namespace relay::guest
