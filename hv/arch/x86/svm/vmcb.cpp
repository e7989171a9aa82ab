#include "hv/arch/x86/svm/vmcb.hpp"

namespace relay::svm {

const char* exit_code_name(u64 code) {
    if (code >= 0x40 && code < 0x60) {
        return "exception";
    }
    switch (static_cast<ExitCode>(code)) {
        case ExitCode::kIntr:
            return "INTR";
        case ExitCode::kNmi:
            return "NMI";
        case ExitCode::kSmi:
            return "SMI";
        case ExitCode::kInit:
            return "INIT";
        case ExitCode::kVintr:
            return "VINTR";
        case ExitCode::kRdpmc:
            return "RDPMC";
        case ExitCode::kCpuid:
            return "CPUID";
        case ExitCode::kRsm:
            return "RSM";
        case ExitCode::kIret:
            return "IRET";
        case ExitCode::kInvd:
            return "INVD";
        case ExitCode::kPause:
            return "PAUSE";
        case ExitCode::kHlt:
            return "HLT";
        case ExitCode::kInvlpga:
            return "INVLPGA";
        case ExitCode::kIoio:
            return "IOIO";
        case ExitCode::kMsr:
            return "MSR";
        case ExitCode::kTaskSwitch:
            return "TASK_SWITCH";
        case ExitCode::kFerrFreeze:
            return "FERR_FREEZE";
        case ExitCode::kShutdown:
            return "SHUTDOWN";
        case ExitCode::kVmrun:
            return "VMRUN";
        case ExitCode::kVmmcall:
            return "VMMCALL";
        case ExitCode::kVmload:
            return "VMLOAD";
        case ExitCode::kVmsave:
            return "VMSAVE";
        case ExitCode::kStgi:
            return "STGI";
        case ExitCode::kClgi:
            return "CLGI";
        case ExitCode::kSkinit:
            return "SKINIT";
        case ExitCode::kRdtscp:
            return "RDTSCP";
        case ExitCode::kIcebp:
            return "ICEBP";
        case ExitCode::kWbinvd:
            return "WBINVD";
        case ExitCode::kMonitor:
            return "MONITOR";
        case ExitCode::kMwait:
            return "MWAIT";
        case ExitCode::kMwaitConditional:
            return "MWAIT_CONDITIONAL";
        case ExitCode::kXsetbv:
            return "XSETBV";
        case ExitCode::kRdpru:
            return "RDPRU";
        case ExitCode::kNestedPageFault:
            return "NPF";
        case ExitCode::kInvalid:
            return "INVALID";
        default:
            return "unknown";
    }
}

}  // namespace relay::svm
