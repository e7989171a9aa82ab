// Relay hypercalls (hv/abi/hypercall.h) from a test guest: VMMCALL with RAX = number and
// RDI, RSI, RDX, R10, R8, R9 = arguments 0..5. Every wrapper returns RAX as the hypervisor
// left it (>= 0 success, < 0 a RELAY_E* code; abi_names.hpp names them) and passes zero
// in every argument the hypercall does not use. Guest memory is identity-mapped, so a
// pointer is the guest-physical address the hypervisor expects.
#pragma once

#include "hv/abi/hypercall.h"
#include "lib/types.hpp"

namespace relay::guest {

// Any hypercall, arguments as given: for tests that pass what the typed wrappers would
// not (reserved arguments, unknown numbers, bad addresses).
inline i64 hypercall(u64 number, u64 arg0 = 0, u64 arg1 = 0, u64 arg2 = 0, u64 arg3 = 0,
                     u64 arg4 = 0, u64 arg5 = 0) {
    register u64 r10 asm("r10") = arg3;
    register u64 r8 asm("r8") = arg4;
    register u64 r9 asm("r9") = arg5;
    u64 result;
    asm volatile("vmmcall"
                 : "=a"(result)
                 : "a"(number), "D"(arg0), "S"(arg1), "d"(arg2), "r"(r10), "r"(r8), "r"(r9)
                 : "memory");
    return static_cast<i64>(result);
}

namespace hc {

// (major << 16) | minor.
inline i64 version() {
    return hypercall(RELAY_HC_VERSION);
}

// Bytes written.
inline i64 console_write(const void* buffer, u64 length) {
    return hypercall(RELAY_HC_CONSOLE_WRITE, reinterpret_cast<uptr>(buffer), length);
}

// Domains in total (may exceed capacity; the first `capacity` are written). Control only.
inline i64 domain_list(relay_domain_entry* entries, u64 capacity) {
    return hypercall(RELAY_HC_DOMAIN_LIST, reinterpret_cast<uptr>(entries), capacity);
}

// Control, or the caller's own domid.
inline i64 domain_info(u64 domid, relay_domain_info* info) {
    return hypercall(RELAY_HC_DOMAIN_INFO, domid, reinterpret_cast<uptr>(info));
}

// Prefer vcpu_up() (vcpu.hpp), which gives the vCPU a stack and a C++ entry.
inline i64 vcpu_up(u64 vcpu_id, const relay_vcpu_start* start) {
    return hypercall(RELAY_HC_VCPU_UP, vcpu_id, reinterpret_cast<uptr>(start));
}

inline i64 domain_pause(u64 domid) {
    return hypercall(RELAY_HC_DOMAIN_PAUSE, domid);
}

inline i64 domain_unpause(u64 domid) {
    return hypercall(RELAY_HC_DOMAIN_UNPAUSE, domid);
}

inline i64 domain_destroy(u64 domid) {
    return hypercall(RELAY_HC_DOMAIN_DESTROY, domid);
}

inline i64 yield() {
    return hypercall(RELAY_HC_YIELD);
}

// Returns only when the hypervisor refuses (an error code); prefer shutdown()
// (shutdown.hpp), which never returns.
inline i64 shutdown(u64 reason) {
    return hypercall(RELAY_HC_SHUTDOWN, reason);
}

// State export (docs/live-update.md): the stream into `buffer`; (nullptr, 0) asks the size.
inline i64 state_export(void* buffer, u64 capacity) {
    return hypercall(RELAY_HC_STATE_EXPORT, reinterpret_cast<uptr>(buffer), capacity);
}

// Stages a Relay image (an ELF file in guest memory) for the next live update.
inline i64 kexec_stage(const void* image, u64 size) {
    return hypercall(RELAY_HC_KEXEC_STAGE, reinterpret_cast<uptr>(image), size);
}

inline i64 kexec_unload() {
    return hypercall(RELAY_HC_KEXEC_UNLOAD);
}

// Returns 0 in the new build, or an error with this build still running.
inline i64 live_update() {
    return hypercall(RELAY_HC_LIVE_UPDATE);
}

}  // namespace hc

}  // namespace relay::guest
