// Bringing up the application processors (INIT-SIPI-SIPI through the local APIC).
#pragma once

#include "hv/arch/x86/acpi/acpi.hpp"
#include "lib/result.hpp"

namespace relay::x86 {

// Starts every enabled CPU ACPI lists (up to `max_cpus` in total, 0 = all), one at a
// time; each comes up on its own stacks with its own GDT/TSS and PerCpu, then runs
// `ap_idle`. Returns the number of CPUs online (BSP included). A CPU that does not
// answer within its timeout is reported and skipped.
u32 start_application_processors(const acpi::AcpiInfo& acpi, u32 max_cpus);

// Sets up the calling CPU's descriptor tables, stacks and PerCpu (used by BSP and APs).
Status prepare_cpu(u32 index, u32 apic_id);

}  // namespace relay::x86
