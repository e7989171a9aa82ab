#include "hv/domain_control.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/console.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/passthrough.hpp"
#include "hv/scheduler.hpp"
#include "hv/shutdown.hpp"
#include "hv/vcpu.hpp"

namespace relay {

namespace {

Spinlock lifecycle_lock;

void stop_vcpus(Domain& domain) {
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        domain.vcpus[i]->set_run_state(VcpuRunState::kOffline);
        scheduler_kick(*domain.vcpus[i]);
    }
}

// When no domain is left that can still run, the machine has nothing more to do.
void shut_down_if_no_domain_left() {
    bool alive = false;
    bool crashed = false;
    domain_for_each([&](Domain& d) {
        DomainLifecycle state = d.lifecycle.load(std::memory_order_acquire);
        alive = alive || state == DomainLifecycle::kRunning || state == DomainLifecycle::kPaused ||
                state == DomainLifecycle::kConfigured;
        crashed = crashed || state == DomainLifecycle::kCrashed;
    });
    if (!alive) {
        log_info("no domain left running; shutting down");
        system_shutdown(crashed ? ShutdownStatus::kFailure : ShutdownStatus::kSuccess);
    }
}

const char* shutdown_reason_name(u8 reason) {
    switch (reason) {
        case 1:
            return "poweroff";
        case 2:
            return "reboot";
        case 3:
            return "suspend";
        case 4:
            return "crash";
        default:
            return "unknown";
    }
}

}  // namespace

Status domain_start(Domain& domain) {
    DomainLifecycle expected = DomainLifecycle::kConfigured;
    if (!domain.lifecycle.compare_exchange_strong(expected, DomainLifecycle::kRunning)) {
        return make_error(ErrorCode::kBusy, "domain {} is {}, not configured", domain.domid,
                          lifecycle_name(expected));
    }
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        scheduler_kick(*domain.vcpus[i]);
    }
    return ok_status();
}

void domain_resume_restored(Domain& domain, DomainLifecycle recorded) {
    if (recorded == DomainLifecycle::kCrashed || recorded == DomainLifecycle::kShutDown) {
        stop_vcpus(domain);
    }
    domain.lifecycle.store(recorded, std::memory_order_release);
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        scheduler_kick(*domain.vcpus[i]);
    }
}

namespace {

// Waits for every vCPU but `self` to leave its CPU (hv/scheduler.cpp, run_vcpu).
void wait_vcpus_off_cpu(Domain& domain, const Vcpu* self) {
    u64 deadline = x86::rdtsc() + x86::microseconds_to_tsc(5'000'000);
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        Vcpu& vcpu = *domain.vcpus[i];
        if (&vcpu == self) {
            continue;
        }
        while (vcpu.on_cpu.load(std::memory_order_seq_cst)) {
            scheduler_kick(vcpu);
            if (x86::rdtsc() > deadline) {
                log_error("domain {} vCPU {} did not stop within 5 s", domain.domid, vcpu.id);
                break;
            }
            x86::cpu_relax();
        }
    }
}

}  // namespace

void domain_system_pause(Domain& domain, const Vcpu* self) {
    domain.system_pause_count.fetch_add(1, std::memory_order_seq_cst);
    wait_vcpus_off_cpu(domain, self);
}

void domain_system_unpause(Domain& domain) {
    if (domain.system_pause_count.fetch_sub(1, std::memory_order_seq_cst) == 1) {
        for (u32 i = 0; i < domain.vcpu_count; ++i) {
            scheduler_kick(*domain.vcpus[i]);
        }
    }
}

Status domain_pause(Domain& domain) {
    {
        SpinlockGuard guard(lifecycle_lock);
        DomainLifecycle state = domain.lifecycle.load(std::memory_order_acquire);
        if (state != DomainLifecycle::kRunning && state != DomainLifecycle::kPaused) {
            return make_error(ErrorCode::kBusy, "domain {} is {}", domain.domid,
                              lifecycle_name(state));
        }
        if (domain.pause_count.fetch_add(1, std::memory_order_seq_cst) == 0) {
            domain.lifecycle.store(DomainLifecycle::kPaused, std::memory_order_release);
        }
    }
    // Wait for every vCPU to leave its CPU. Kicks make a vCPU in guest mode exit within
    // one IPI; nothing else holds a vCPU on a CPU for long.
    wait_vcpus_off_cpu(domain, nullptr);
    return ok_status();
}

Status domain_unpause(Domain& domain) {
    SpinlockGuard guard(lifecycle_lock);
    u32 count = domain.pause_count.load(std::memory_order_acquire);
    if (count == 0) {
        return make_error(ErrorCode::kBusy, "domain {} is not paused", domain.domid);
    }
    if (domain.pause_count.fetch_sub(1, std::memory_order_seq_cst) == 1) {
        DomainLifecycle expected = DomainLifecycle::kPaused;
        domain.lifecycle.compare_exchange_strong(expected, DomainLifecycle::kRunning);
        for (u32 i = 0; i < domain.vcpu_count; ++i) {
            scheduler_kick(*domain.vcpus[i]);
        }
    }
    return ok_status();
}

void domain_release_resources(Domain& domain, bool ran_before) {
    // A device the IOMMU could not block may still write the domain's RAM: keep it (and
    // its table) rather than hand it to someone else.
    bool devices_stopped = ran_before || passthrough_release(domain);
    domain.assigned_count = 0;
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        scheduler_remove(*domain.vcpus[i]);
        vcpu_release(domain.vcpus[i]);
        domain.vcpus[i] = nullptr;
    }
    domain.vcpu_count = 0;
    if (!devices_stopped) {
        log_error(
            "domain {}: keeping its {} MiB of RAM: an assigned device could not be blocked "
            "and may still write to it",
            domain.domid, domain.ram_bytes / MiB);
    }
    bool free_ram = devices_stopped && !ran_before;
    for (usize i = 0; free_ram && i < domain.extent_count; ++i) {
        const GuestMemoryExtent& extent = domain.extents[i];
        if (extent.is_mmio()) {
            continue;  // an assigned device's BAR: not Relay's memory
        }
        u64 block = 1ull << extent.page_size_log2;
        u32 order = static_cast<u32>(extent.page_size_log2 - 12);
        for (u64 offset = 0; offset < extent.size; offset += block) {
            Status freed = free_frames(extent.host + offset, order);
            if (!freed.ok()) {
                log_error("domain {}: freeing guest memory: {}", domain.domid,
                          freed.error().message());
            }
        }
    }
    domain.extent_count = 0;
    domain.ram_bytes = 0;
    if (domain.extent_storage.raw() != 0) {
        (void)free_frames(domain.extent_storage, domain.extent_storage_order);
        domain.extent_storage = HostPhysAddr(0);
        domain.extents = nullptr;
        domain.extent_capacity = 0;
    }
    if (domain.npt.root().raw() != 0) {
        domain.npt.destroy();
    }
}

Status domain_destroy(Domain& domain) {
    // Stop it for good: pause waits for its vCPUs to leave their CPUs.
    DomainLifecycle state = domain.lifecycle.load(std::memory_order_acquire);
    if (state == DomainLifecycle::kRunning || state == DomainLifecycle::kPaused) {
        RELAY_TRY(domain_pause(domain));
    }
    stop_vcpus(domain);
    {
        SpinlockGuard guard(domain.uart_lock);
        domain.uart.flush(domain);
    }
    u16 domid = domain.domid;
    domain_release_resources(domain);
    domain.lifecycle.store(DomainLifecycle::kShutDown, std::memory_order_release);
    domain_release_slot(&domain);
    log_info("domain {} destroyed", domid);
    shut_down_if_no_domain_left();
    return ok_status();
}

void domain_crash_with_message(Domain& domain, const char* message) {
    {
        SpinlockGuard guard(lifecycle_lock);
        DomainLifecycle state = domain.lifecycle.load(std::memory_order_acquire);
        if (state == DomainLifecycle::kCrashed || state == DomainLifecycle::kShutDown) {
            return;
        }
        domain.lifecycle.store(DomainLifecycle::kCrashed, std::memory_order_release);
        domain.shutdown_reason = 4;
    }
    passthrough_stop(domain);
    {
        SpinlockGuard guard(domain.uart_lock);
        domain.uart.flush(domain);
    }
    log_error("domain {} ({}) crashed: {}", domain.domid, domain.name_view(), message);
    stop_vcpus(domain);
    shut_down_if_no_domain_left();
}

void domain_shutdown(Domain& domain, u8 reason) {
    {
        SpinlockGuard guard(lifecycle_lock);
        DomainLifecycle state = domain.lifecycle.load(std::memory_order_acquire);
        if (state == DomainLifecycle::kCrashed || state == DomainLifecycle::kShutDown) {
            return;
        }
        domain.lifecycle.store(reason == 4 ? DomainLifecycle::kCrashed : DomainLifecycle::kShutDown,
                               std::memory_order_release);
        domain.shutdown_reason = reason;
    }
    passthrough_stop(domain);
    {
        SpinlockGuard guard(domain.uart_lock);
        domain.uart.flush(domain);
    }
    log_info("domain {} ({}) shut down: {}", domain.domid, domain.name_view(),
             shutdown_reason_name(reason));
    stop_vcpus(domain);
    shut_down_if_no_domain_left();
}

}  // namespace relay
