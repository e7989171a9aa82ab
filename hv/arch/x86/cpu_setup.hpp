// Per-CPU control-register and feature setup, run by every CPU as it comes up.
#pragma once

#include "hv/percpu.hpp"

namespace relay::x86 {

// CR0 (NE, WP; caches on), CR4 (PGE, OSFXSR, OSXMMEXCPT), EFER.NXE.
void setup_cpu_features();

}  // namespace relay::x86

namespace relay {

// Called on each application processor once it runs on its own stack and tables.
[[noreturn]] void ap_started(PerCpu& cpu);

}  // namespace relay
