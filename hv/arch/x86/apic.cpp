#include "hv/arch/x86/apic.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/memory/address_space.hpp"

namespace relay::x86 {

namespace {

// Register offsets (APM vol. 2 table 16-2).
constexpr u32 kId = 0x020;
constexpr u32 kTaskPriority = 0x080;
constexpr u32 kEoi = 0x0B0;
constexpr u32 kSpurious = 0x0F0;
constexpr u32 kErrorStatus = 0x280;
constexpr u32 kIcrLow = 0x300;
constexpr u32 kIcrHigh = 0x310;
constexpr u32 kLvtTimer = 0x320;
constexpr u32 kLvtLint0 = 0x350;
constexpr u32 kLvtLint1 = 0x360;
constexpr u32 kLvtError = 0x370;
constexpr u32 kTimerInitial = 0x380;
constexpr u32 kTimerCurrent = 0x390;
constexpr u32 kTimerDivide = 0x3E0;

constexpr u32 kLvtMasked = 1u << 16;
constexpr u32 kTimerPeriodic = 1u << 17;
constexpr u32 kIcrSendPending = 1u << 12;
constexpr u32 kIcrLevelAssert = 1u << 14;
constexpr u32 kIcrDeliveryInit = 5u << 8;
constexpr u32 kIcrDeliveryStartup = 6u << 8;
constexpr u32 kIcrDeliveryNmi = 4u << 8;
constexpr u32 kIcrAllExcludingSelf = 3u << 18;

volatile u32* registers = nullptr;

u32 read(u32 offset) {
    return registers[offset / 4];
}
void write(u32 offset, u32 value) {
    registers[offset / 4] = value;
}

bool wait_idle() {
    for (u32 spins = 0; spins < 1000000; ++spins) {
        if ((read(kIcrLow) & kIcrSendPending) == 0) {
            return true;
        }
        cpu_relax();
    }
    return false;
}

bool send(u32 apic_id, u32 command) {
    if (!wait_idle()) {
        return false;
    }
    write(kIcrHigh, apic_id << 24);
    write(kIcrLow, command);
    return wait_idle();
}

}  // namespace

Status local_apic_map(HostPhysAddr base) {
    RELAY_TRY_ASSIGN(mapped, hypervisor_address_space().map_mmio(base, kPageSize4K));
    registers = reinterpret_cast<volatile u32*>(mapped.raw());
    return ok_status();
}

void local_apic_enable() {
    // IA32_APIC_BASE bit 11: global enable (it is on after reset; make sure).
    u64 base = rdmsr(kMsrApicBase);
    wrmsr(kMsrApicBase, base | (1ull << 11));
    write(kTaskPriority, 0);
    write(kLvtTimer, kLvtMasked);
    write(kLvtLint0, kLvtMasked);
    write(kLvtLint1, kLvtMasked);
    write(kLvtError, kLvtMasked);
    write(kErrorStatus, 0);
    write(kErrorStatus, 0);
    write(kSpurious, (1u << 8) | kSpuriousVector);
}

u32 local_apic_id() {
    return read(kId) >> 24;
}

void local_apic_eoi() {
    write(kEoi, 0);
}

bool send_init_ipi(u32 apic_id) {
    return send(apic_id, kIcrDeliveryInit | kIcrLevelAssert);
}

bool send_startup_ipi(u32 apic_id, u8 vector_page) {
    return send(apic_id, kIcrDeliveryStartup | kIcrLevelAssert | vector_page);
}

bool send_fixed_ipi(u32 apic_id, u8 vector) {
    return send(apic_id, kIcrLevelAssert | vector);
}

bool send_nmi_ipi(u32 apic_id) {
    return send(apic_id, kIcrDeliveryNmi | kIcrLevelAssert);
}

bool send_nmi_to_others() {
    if (registers == nullptr) {
        return false;
    }
    return send(0, kIcrAllExcludingSelf | kIcrDeliveryNmi | kIcrLevelAssert);
}

void local_apic_timer_periodic(u8 vector, u32 initial_count) {
    write(kTimerDivide, 0x3);  // divide by 16
    write(kLvtTimer, kTimerPeriodic | vector);
    write(kTimerInitial, initial_count);
}

void local_apic_timer_one_shot(u8 vector, u32 initial_count) {
    write(kTimerDivide, 0x3);
    write(kLvtTimer, vector);
    write(kTimerInitial, initial_count);
}

void local_apic_timer_stop() {
    write(kLvtTimer, kLvtMasked);
    write(kTimerInitial, 0);
}

u32 local_apic_timer_current() {
    return read(kTimerCurrent);
}

}  // namespace relay::x86
