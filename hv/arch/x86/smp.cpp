#include "hv/arch/x86/smp.hpp"

#include <cstring>

#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/cpu_setup.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/console.hpp"
#include "hv/memory/address_space.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/percpu.hpp"

extern "C" {
extern const char relay_ap_trampoline_start[];
extern const char relay_ap_trampoline_end[];
extern const char relay_ap_trampoline_gdt_offset[];
extern const char relay_ap_trampoline_long_mode_offset[];
extern const char relay_ap_trampoline_data_offset[];
void relay_ap_entry64();
relay::u64 relay_kernel_cr3 = 0;
}

namespace relay::x86 {

namespace {

// Mirrors the data block at the end of ap_trampoline.S.
struct [[gnu::packed]] TrampolineData {
    u16 gdt_limit;
    u32 gdt_base;
    u16 reserved0;
    u32 long_mode_offset;
    u16 code_selector;
    u16 reserved1;
    u64 cr3;
    u64 stack;
    u64 percpu;
    u64 entry;
};
static_assert(sizeof(TrampolineData) == 48);

u64 absolute(const char* symbol) {
    return reinterpret_cast<u64>(symbol);
}

bool wait_online(PerCpu& cpu, u64 microseconds) {
    u64 deadline = rdtsc() + microseconds_to_tsc(microseconds);
    while (rdtsc() < deadline) {
        if (cpu.online.load(std::memory_order_acquire)) {
            return true;
        }
        cpu_relax();
    }
    return cpu.online.load(std::memory_order_acquire);
}

u64 init_delay_microseconds() {
    CpuidResult vendor = cpuid(0);
    CpuidResult signature = cpuid(1);
    u32 family = (signature.eax >> 8) & 0xF;
    if (family == 0xF) {
        family += (signature.eax >> 20) & 0xFF;
    }
    bool amd = vendor.ebx == 0x68747541 && vendor.edx == 0x69746E65 &&
               vendor.ecx == 0x444D4163;  // AuthenticAMD
    bool intel = vendor.ebx == 0x756E6547 && vendor.edx == 0x49656E69 &&
                 vendor.ecx == 0x6C65746E;  // GenuineIntel
    if ((amd && family >= 0xF) || (intel && family == 6)) {
        return 0;
    }
    return 10'000;
}

}  // namespace

u32 start_application_processors(const acpi::AcpiInfo& acpi, u32 max_cpus) {
    u32 bsp_apic_id = local_apic_id();
    u32 online = 1;
    usize trampoline_size = static_cast<usize>(relay_ap_trampoline_end - relay_ap_trampoline_start);
    auto page = allocate_frames(0, {HostPhysAddr(kPageSize4K), HostPhysAddr(1 * MiB)});
    if (!page.ok()) {
        log_error("no page below 1 MiB for the AP trampoline ({}); running on one CPU",
                  page.error().message());
        return online;
    }
    HostPhysAddr trampoline = page.value();
    auto space = hypervisor_address_space().create_trampoline_space(trampoline);
    if (!space.ok()) {
        log_error("AP trampoline address space: {}; running on one CPU", space.error().message());
        (void)free_frames(trampoline, 0);
        return online;
    }
    relay_kernel_cr3 = hypervisor_address_space().root().raw();

    char* code = phys_to_virt<char>(trampoline);
    std::memcpy(code, relay_ap_trampoline_start, trampoline_size);
    auto* data =
        reinterpret_cast<TrampolineData*>(code + absolute(relay_ap_trampoline_data_offset));
    data->gdt_base = static_cast<u32>(trampoline.raw() + absolute(relay_ap_trampoline_gdt_offset));
    data->long_mode_offset =
        static_cast<u32>(trampoline.raw() + absolute(relay_ap_trampoline_long_mode_offset));
    data->cr3 = space.value().raw();
    data->entry = reinterpret_cast<u64>(&relay_ap_entry64);
    u8 vector = static_cast<u8>(trampoline.raw() >> 12);

    for (usize i = 0; i < acpi.cpu_count; ++i) {
        const acpi::Cpu& entry = acpi.cpus[i];
        if (!entry.enabled || entry.apic_id == bsp_apic_id) {
            continue;
        }
        if ((max_cpus != 0 && online >= max_cpus) || online >= kMaxCpus) {
            log_info("cpu with APIC ID {} not started (limit of {} CPUs)", entry.apic_id,
                     max_cpus != 0 ? max_cpus : kMaxCpus);
            continue;
        }
        u32 index = online;
        Status prepared = prepare_cpu(index, entry.apic_id);
        if (!prepared.ok()) {
            log_error("cpu {} (APIC ID {}): {}", index, entry.apic_id, prepared.error().message());
            continue;
        }
        PerCpu& cpu = cpu_data(index);
        data->stack = cpu.stack_high;
        data->percpu = reinterpret_cast<u64>(&cpu);
        asm volatile("" ::: "memory");

        // INIT, 10 ms, STARTUP; a second STARTUP if the first was missed (MP spec B.4).
        // The 10 ms are for external 82489DX APICs: CPUs with an integrated APIC (AMD
        // family 0Fh and later, Intel family 6) take STARTUP at once, as Linux assumes
        // (smp_quirk_init_udelay). It matters in a live update's blackout.
        bool sent = send_init_ipi(entry.apic_id);
        udelay(init_delay_microseconds());
        sent = sent && send_startup_ipi(entry.apic_id, vector);
        if (sent && !wait_online(cpu, 1'000)) {
            sent = send_startup_ipi(entry.apic_id, vector);
        }
        // TCG emulates every CPU on host threads; give a slow host a full second.
        if (!sent || !wait_online(cpu, 1'000'000)) {
            log_error("cpu with APIC ID {} did not come online{}", entry.apic_id,
                      sent ? "" : " (IPI not delivered)");
            continue;
        }
        ++online;
    }
    hypervisor_address_space().destroy_trampoline_space(space.value(), trampoline);
    (void)free_frames(trampoline, 0);
    return online;
}

Status prepare_cpu(u32 index, u32 apic_id) {
    PerCpu& cpu = cpu_data(index);
    cpu.index = index;
    cpu.apic_id = apic_id;
    RELAY_TRY_ASSIGN(stacks, hypervisor_address_space().map_cpu_stacks(index));
    cpu.stack_low = stacks.kernel_low;
    cpu.stack_high = stacks.kernel_top;
    for (int i = 0; i < 3; ++i) {
        cpu.ist_stack_top[i] = stacks.ist_top[i];
        cpu.tss.ist[i] = stacks.ist_top[i];
    }
    cpu.tss.rsp[0] = stacks.kernel_top;
    return ok_status();
}

}  // namespace relay::x86

extern "C" [[noreturn]] void relay_ap_main(relay::PerCpu* cpu) {
    using namespace relay;
    install_percpu(*cpu);
    x86::load_gdt_and_tss(cpu->gdt, cpu->tss);
    x86::load_idt();
    x86::setup_cpu_features();
    x86::local_apic_enable();
    ap_started(*cpu);
}
