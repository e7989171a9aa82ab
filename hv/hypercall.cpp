#include "hv/hypercall.hpp"

#include <cstring>

#include "hv/abi/hypercall.h"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/domain_control.hpp"
#include "hv/exit_handler.hpp"
#include "hv/msr_emulation.hpp"
#include "hv/scheduler.hpp"
#include "hv/virtual_lapic.hpp"
#include "liveupdate/live_update.hpp"

namespace relay {

namespace {

static_assert(sizeof(relay_domain_entry) == 64, "ABI: domain entry is 64 bytes");
static_assert(sizeof(relay_domain_info) == 128, "ABI: domain info is 128 bytes");
static_assert(sizeof(relay_vcpu_start) == 64, "ABI: vCPU start is 64 bytes");

constexpr u64 kConsoleWriteMax = 4096;
Spinlock control_lock;  // serializes pause/unpause/destroy across callers

bool canonical(u64 address) {
    return address < (1ull << 47) || address >= ~((1ull << 47) - 1);
}

i64 result_or_error(const Status& status, i64 success = 0) {
    return status.ok() ? success : hypercall_error(status.error());
}

// The target of a control hypercall: exists, and is not the caller (a domain cannot
// pause or destroy itself: it would wait for its own vCPU).
Result<Domain*> control_target(Vcpu& caller, u64 domid) {
    if (domid > 0xFFFF) {
        return make_error(ErrorCode::kInvalidArgument, "domid {} out of range", domid);
    }
    Domain* target = domain_find(static_cast<u16>(domid));
    if (target == nullptr) {
        return make_error(ErrorCode::kNotFound, "no domain {}", domid);
    }
    if (target == caller.domain) {
        return make_error(ErrorCode::kInvalidArgument, "domain {} cannot do that to itself", domid);
    }
    return target;
}

void fill_entry(const Domain& domain, relay_domain_entry* entry) {
    std::memset(entry, 0, sizeof(*entry));
    entry->domid = domain.domid;
    entry->lifecycle = static_cast<u8>(domain.lifecycle.load(std::memory_order_acquire));
    entry->shutdown_reason = domain.shutdown_reason;
    entry->permissions = domain.permissions;
    entry->functions = domain.functions;
    entry->vcpus = static_cast<u16>(domain.vcpu_count);
    entry->memory_kib = domain.memory_kib;
    std::memcpy(entry->name, domain.name, sizeof(entry->name) - 1);
}

// ---- Handlers ----

i64 hc_version(Vcpu&, const u64*) {
    return (static_cast<i64>(RELAY_ABI_VERSION_MAJOR) << 16) | RELAY_ABI_VERSION_MINOR;
}

i64 hc_console_write(Vcpu& caller, const u64* a) {
    u64 length = a[1];
    if (length > kConsoleWriteMax) {
        return RELAY_ERANGE;
    }
    char buffer[kConsoleWriteMax];
    Status copied = caller.domain->copy_from_guest(buffer, GuestPhysAddr(a[0]), length);
    if (!copied.ok()) {
        return RELAY_EFAULT;
    }
    // Line-oriented: each '\n'-terminated piece (and a trailing rest) is one console line.
    Domain& domain = *caller.domain;
    u64 start = 0;
    for (u64 i = 0; i <= length; ++i) {
        if (i == length || buffer[i] == '\n') {
            if (i > start || (i < length && buffer[i] == '\n')) {
                for (u64 j = start; j < i; ++j) {
                    u8 c = static_cast<u8>(buffer[j]);
                    if (c < 0x20 || c >= 0x7F) {
                        buffer[j] = '?';
                    }
                }
                domain.write_line(std::string_view(buffer + start, i - start));
            }
            start = i + 1;
        }
    }
    return static_cast<i64>(length);
}

i64 hc_domain_list(Vcpu& caller, const u64* a) {
    u64 capacity = a[1];
    if (capacity > kMaxDomains) {
        capacity = kMaxDomains;  // more room than there can be domains is fine
    }
    GuestPhysAddr destination(a[0]);
    if (capacity > 0 &&
        !caller.domain->range_is_ram(destination, capacity * sizeof(relay_domain_entry))) {
        return RELAY_EFAULT;
    }
    relay_domain_entry entries[kMaxDomains];
    u64 total = 0;
    domain_for_each([&](Domain& domain) {
        if (total < capacity) {
            fill_entry(domain, &entries[total]);
        }
        ++total;
    });
    u64 written = total < capacity ? total : capacity;
    if (written > 0) {
        Status copied = caller.domain->copy_to_guest(destination, entries,
                                                     written * sizeof(relay_domain_entry));
        if (!copied.ok()) {
            return RELAY_EFAULT;
        }
    }
    return static_cast<i64>(total);
}

i64 hc_domain_info(Vcpu& caller, const u64* a) {
    if (a[0] > 0xFFFF) {
        return RELAY_EINVAL;
    }
    u16 domid = static_cast<u16>(a[0]);
    // Any domain may ask about itself; only the control domain about others.
    if (domid != caller.domain->domid && !caller.domain->is_control()) {
        return RELAY_EPERM;
    }
    Domain* target = domain_find(domid);
    if (target == nullptr) {
        return RELAY_ENOENT;
    }
    relay_domain_info info;
    std::memset(&info, 0, sizeof(info));
    fill_entry(*target, &info.entry);
    std::memcpy(info.uuid, target->uuid, sizeof(info.uuid));
    info.pause_count = target->pause_count.load(std::memory_order_acquire);
    info.exits = target->exits.load(std::memory_order_relaxed);
    u64 ticks = 0;
    for (u32 i = 0; i < target->vcpu_count; ++i) {
        ticks += target->vcpus[i]->guest_tsc_ticks;
    }
    info.run_time_ns = target->tsc_khz != 0 ? ticks * 1'000'000 / target->tsc_khz : 0;
    Status copied = caller.domain->copy_to_guest(GuestPhysAddr(a[1]), &info, sizeof(info));
    return copied.ok() ? 0 : RELAY_EFAULT;
}

i64 hc_vcpu_up(Vcpu& caller, const u64* a) {
    Domain& domain = *caller.domain;
    if (a[0] >= domain.vcpu_count) {
        return RELAY_ENOENT;
    }
    relay_vcpu_start start;
    if (!domain.copy_from_guest(&start, GuestPhysAddr(a[1]), sizeof(start)).ok()) {
        return RELAY_EFAULT;
    }
    for (u64 reserved : start.reserved) {
        if (reserved != 0) {
            return RELAY_ERESERVED;
        }
    }
    if (!canonical(start.rip) || !canonical(start.rsp)) {
        return RELAY_EINVAL;
    }
    Vcpu& target = *domain.vcpus[a[0]];
    if (target.state() != VcpuRunState::kReset) {
        return RELAY_EBUSY;  // already started
    }
    // Same paging and modes as the caller: the guest shares one address space.
    svm::Vmcb& from = *caller.vmcb;
    svm::Vmcb& to = *target.vmcb;
    vcpu_set_long_mode_start(target, start.rip, start.rsp, start.rdi, from.cr3);
    to.cr0 = from.cr0;
    to.cr4 = from.cr4;
    to.efer = from.efer;
    to.gdtr = from.gdtr;
    to.guest_pat = from.guest_pat;
    to.tsc_offset = from.tsc_offset;
    target.set_run_state(VcpuRunState::kRunning);
    scheduler_kick(target);
    return 0;
}

i64 hc_domain_pause(Vcpu& caller, const u64* a) {
    SpinlockGuard guard(control_lock);
    auto target = control_target(caller, a[0]);
    if (!target.ok()) {
        return hypercall_error(target.error());
    }
    return result_or_error(domain_pause(*target.value()));
}

i64 hc_domain_unpause(Vcpu& caller, const u64* a) {
    SpinlockGuard guard(control_lock);
    auto target = control_target(caller, a[0]);
    if (!target.ok()) {
        return hypercall_error(target.error());
    }
    Status status = domain_unpause(*target.value());
    if (!status.ok() && status.error().code() == ErrorCode::kBusy) {
        return RELAY_ESTATE;
    }
    return result_or_error(status);
}

i64 hc_domain_destroy(Vcpu& caller, const u64* a) {
    SpinlockGuard guard(control_lock);
    auto target = control_target(caller, a[0]);
    if (!target.ok()) {
        return hypercall_error(target.error());
    }
    return result_or_error(domain_destroy(*target.value()));
}

i64 hc_yield(Vcpu& caller, const u64*) {
    scheduler_kick(caller);  // ends this vCPU's slice on its own CPU
    return 0;
}

i64 hc_shutdown(Vcpu& caller, const u64* a) {
    u64 reason = a[0];
    if (reason != RELAY_SHUTDOWN_POWEROFF && reason != RELAY_SHUTDOWN_REBOOT &&
        reason != RELAY_SHUTDOWN_CRASH) {
        return RELAY_EINVAL;
    }
    domain_shutdown(*caller.domain, static_cast<u8>(reason));
    return 0;
}

i64 hc_state_export(Vcpu& caller, const u64* a) {
    return liveupdate::state_export(caller, a[0], a[1]);
}
i64 hc_kexec_stage(Vcpu& caller, const u64* a) {
    return liveupdate::stage(caller, a[0], a[1]);
}
i64 hc_kexec_unload(Vcpu& caller, const u64*) {
    return liveupdate::unstage(caller);
}
i64 hc_live_update(Vcpu& caller, const u64*) {
    return liveupdate::live_update(caller);
}

const HypercallDescriptor kTable[] = {
    {RELAY_HC_VERSION, "version", 0, 0, hc_version},
    {RELAY_HC_CONSOLE_WRITE, "console_write", 2, 0, hc_console_write},
    {RELAY_HC_DOMAIN_LIST, "domain_list", 2, RELAY_PERMISSION_CONTROL, hc_domain_list},
    {RELAY_HC_DOMAIN_INFO, "domain_info", 2, 0, hc_domain_info},
    {RELAY_HC_VCPU_UP, "vcpu_up", 2, 0, hc_vcpu_up},
    {RELAY_HC_DOMAIN_PAUSE, "domain_pause", 1, RELAY_PERMISSION_CONTROL, hc_domain_pause},
    {RELAY_HC_DOMAIN_UNPAUSE, "domain_unpause", 1, RELAY_PERMISSION_CONTROL, hc_domain_unpause},
    {RELAY_HC_DOMAIN_DESTROY, "domain_destroy", 1, RELAY_PERMISSION_CONTROL, hc_domain_destroy},
    {RELAY_HC_YIELD, "yield", 0, 0, hc_yield},
    {RELAY_HC_SHUTDOWN, "shutdown", 1, 0, hc_shutdown},
    {RELAY_HC_STATE_EXPORT, "state_export", 2, RELAY_PERMISSION_CONTROL, hc_state_export},
    {RELAY_HC_KEXEC_STAGE, "kexec_stage", 2, RELAY_PERMISSION_CONTROL, hc_kexec_stage},
    {RELAY_HC_KEXEC_UNLOAD, "kexec_unload", 0, RELAY_PERMISSION_CONTROL, hc_kexec_unload},
    {RELAY_HC_LIVE_UPDATE, "live_update", 0, RELAY_PERMISSION_CONTROL, hc_live_update},
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) == RELAY_HC_COUNT, "every hypercall in the table");

}  // namespace

const HypercallDescriptor* hypercall_table(usize* count) {
    *count = sizeof(kTable) / sizeof(kTable[0]);
    return kTable;
}

i64 hypercall_error(const Error& error) {
    switch (error.code()) {
        case ErrorCode::kPermissionDenied:
            return RELAY_EPERM;
        case ErrorCode::kNotFound:
            return RELAY_ENOENT;
        case ErrorCode::kOutOfRange:
            return RELAY_EFAULT;
        case ErrorCode::kOutOfMemory:
            return RELAY_ENOMEM;
        case ErrorCode::kBusy:
            return RELAY_EBUSY;
        case ErrorCode::kUnsupported:
            return RELAY_ENOSYS;
        default:
            return RELAY_EINVAL;
    }
}

void handle_hypercall(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    skip_instruction(vcpu, 3);  // 0F 01 D9
    if (v.cpl != 0) {
        // Only the guest kernel may call the hypervisor (as in Xen HVM).
        inject_exception(vcpu, 6);
        return;
    }
    u64 number = v.rax;
    const u64 arguments[6] = {vcpu.regs.rdi, vcpu.regs.rsi, vcpu.regs.rdx,
                              vcpu.regs.r10, vcpu.regs.r8,  vcpu.regs.r9};
    i64 result;
    if (number >= sizeof(kTable) / sizeof(kTable[0])) {
        result = RELAY_ENOSYS;
    } else {
        const HypercallDescriptor& descriptor = kTable[number];
        bool reserved_clear = true;
        for (u8 i = descriptor.argument_count; i < 6; ++i) {
            reserved_clear = reserved_clear && arguments[i] == 0;
        }
        if ((vcpu.domain->permissions & descriptor.required_permission) !=
            descriptor.required_permission) {
            result = RELAY_EPERM;
        } else if (!reserved_clear) {
            result = RELAY_ERESERVED;
        } else {
            result = descriptor.handler(vcpu, arguments);
        }
        if (result < 0) {
            log_debug("domain {} vCPU {}: {} -> {}", vcpu.domain->domid, vcpu.id, descriptor.name,
                      result);
        }
    }
    v.rax = static_cast<u64>(result);
}

}  // namespace relay
