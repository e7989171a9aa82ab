// SVM on the host: feature detection and per-CPU enablement (AMD APM vol. 2 §15.4).
#pragma once

#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay::svm {

// CPUID Fn8000_000A (APM vol. 3 appendix E.4.9).
struct Features {
    u32 revision = 0;
    u32 asid_count = 0;
    bool nested_paging = false;
    bool lbr_virtualization = false;
    bool svm_lock = false;
    bool nrip_save = false;  // TCG lacks it: instruction lengths are derived instead
    bool tsc_rate = false;
    bool vmcb_clean = false;
    bool flush_by_asid = false;   // TCG: TLB_CONTROL only 0 or 1
    bool decode_assists = false;  // TCG lacks it: MMIO instructions must be decoded
    bool pause_filter = false;
    bool vgif = false;
    bool avic = false;
};

// Checks the CPU can run Relay's guests: SVM present, not disabled by firmware
// (VM_CR.SVMDIS), nested paging available. Boot CPU, once.
Result<Features> detect();
const Features& features();

// Sets EFER.SVME and VM_HSAVE_PA on the calling CPU, and allocates its host state pages.
// Every CPU that runs guests calls it once.
Status enable_on_this_cpu();

// Physical address of the calling CPU's page for VMSAVE/VMLOAD of host state that VMRUN
// does not switch (FS, GS, TR, LDTR, KernelGsBase, STAR family, SYSENTER family).
HostPhysAddr host_state_page();

}  // namespace relay::svm
