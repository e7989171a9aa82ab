// Domain lifecycle operations (docs/hypercalls.md describes what guests see).
//
// Pause is synchronous: when domain_pause returns, no vCPU of the domain is loaded on
// any CPU, its VMCBs, registers and XSAVE areas are quiescent, and none will run until
// the matching unpause. The handshake with the scheduler is Dekker-style on
// Domain::pause_count and Vcpu::on_cpu (hv/scheduler.cpp, run_vcpu).
#pragma once

#include "hv/domain.hpp"
#include "lib/format.hpp"
#include "lib/result.hpp"

namespace relay {

// Makes a built domain's vCPUs runnable (Configured -> Running).
Status domain_start(Domain& domain);

// A domain restored from a live-update stream takes up the lifecycle it had: Running
// and Paused domains run (or stay paused) as before; Crashed and ShutDown ones keep their
// memory for inspection and never run.
void domain_resume_restored(Domain& domain, DomainLifecycle recorded);

Status domain_pause(Domain& domain);
Status domain_unpause(Domain& domain);

// The hypervisor's own pause (live update, state export): not visible in the lifecycle.
// `self` (the calling vCPU, inside the hypervisor) is not waited for. Any lifecycle.
void domain_system_pause(Domain& domain, const Vcpu* self);
void domain_system_unpause(Domain& domain);

// Stops the domain, returns its memory, tables and vCPUs, and frees its slot. The
// caller must not be one of its vCPUs.
Status domain_destroy(Domain& domain);

// Marks the domain crashed with a report (its memory is kept for inspection until it is
// destroyed); its vCPUs stop. Safe from the domain's own exit handler.
void domain_crash_with_message(Domain& domain, const char* message);
template <typename... Args>
void domain_crash(Domain& domain, const char* fmt, const Args&... args) {
    char message[256];
    format_to_buffer(message, sizeof(message), fmt, args...);
    domain_crash_with_message(domain, message);
}

// The guest asked to stop (HC_SHUTDOWN).
void domain_shutdown(Domain& domain, u8 reason);

// Frees a domain's memory, nested page tables and vCPUs (the builder uses it to undo a
// half-built domain). The domain must not run. `ran_before`: the domain's restore from a
// stream failed, and the build the stream goes back to resumes it; its devices keep
// running and its RAM stays where it is (freed, this build could hand it out before the
// rollback, to its own page tables for one).
void domain_release_resources(Domain& domain, bool ran_before = false);

}  // namespace relay
