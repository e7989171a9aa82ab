/*
 * Relay hypercall ABI, version 1.1 (docs/hypercalls.md is the specification; this
 * header is its machine-readable half). Shared by the hypervisor and guests: plain C
 * layout, fixed-width types, no padding the compiler could choose.
 *
 * Calling convention: VMMCALL (0F 01 D9) with
 *   RAX = hypercall number, RDI, RSI, RDX, R10, R8, R9 = arguments 0..5.
 * Result in RAX: >= 0 success (a count or value), < 0 one of RELAY_E* below.
 * Arguments a hypercall does not use are reserved and must be zero (RELAY_ERESERVED).
 * Every other register is preserved.
 *
 * Checks happen in this order, so a caller without the role learns nothing else:
 * number (RELAY_ENOSYS), role (RELAY_EPERM), reserved arguments (RELAY_ERESERVED), then
 * the arguments themselves (existence, ranges, buffers).
 */
#ifndef RELAY_ABI_HYPERCALL_H
#define RELAY_ABI_HYPERCALL_H

#include <stdint.h>

#define RELAY_ABI_VERSION_MAJOR 1
#define RELAY_ABI_VERSION_MINOR 1

/* Hypercall numbers. Append only. */
#define RELAY_HC_VERSION 0        /* () -> (major << 16) | minor */
#define RELAY_HC_CONSOLE_WRITE 1  /* (gpa buffer, length) -> bytes written */
#define RELAY_HC_DOMAIN_LIST 2    /* (gpa entries, capacity) -> domains in total [control] */
#define RELAY_HC_DOMAIN_INFO 3    /* (domid, gpa info) -> 0 [control, or own domid] */
#define RELAY_HC_VCPU_UP 4        /* (vcpu id, gpa relay_vcpu_start) -> 0 */
#define RELAY_HC_DOMAIN_PAUSE 5   /* (domid) -> 0 [control] */
#define RELAY_HC_DOMAIN_UNPAUSE 6 /* (domid) -> 0 [control] */
#define RELAY_HC_DOMAIN_DESTROY 7 /* (domid) -> 0 [control] */
#define RELAY_HC_YIELD 8          /* () -> 0 */
#define RELAY_HC_SHUTDOWN 9       /* (reason) -> does not return */
/* ABI 1.1: live update (docs/live-update.md). */
#define RELAY_HC_STATE_EXPORT 10 /* (gpa buffer, capacity) -> stream bytes [control] */
#define RELAY_HC_KEXEC_STAGE 11  /* (gpa image, size) -> 0 [control] */
#define RELAY_HC_KEXEC_UNLOAD 12 /* () -> 0 [control] */
#define RELAY_HC_LIVE_UPDATE 13  /* () -> 0 in the new build [control] */
#define RELAY_HC_COUNT 14

/* Error codes (negative RAX). Append only. */
#define RELAY_EPERM (-1)          /* the caller lacks the role the hypercall needs */
#define RELAY_ENOENT (-2)         /* no such domain or vCPU */
#define RELAY_EINVAL (-3)         /* an argument is malformed or out of range */
#define RELAY_EFAULT (-4)         /* a guest buffer is not inside the caller's RAM */
#define RELAY_EBUSY (-5)          /* the object is in a state that forbids this now */
#define RELAY_ENOMEM (-6)         /* the hypervisor is out of memory */
#define RELAY_ENOSYS (-7)         /* unknown hypercall number */
#define RELAY_ERANGE (-8)         /* a buffer is too small or a length too large */
#define RELAY_ERESERVED (-9)      /* a reserved argument or field is not zero */
#define RELAY_ESTATE (-10)        /* the target domain is in the wrong lifecycle state */
#define RELAY_EINCOMPATIBLE (-11) /* the staged build cannot read this build's state */
#define RELAY_EROLLEDBACK (-12)   /* the new build refused the state; the old one resumed */

/* Domain lifecycle as reported by DOMAIN_LIST/DOMAIN_INFO (schema DomainLifecycle). */
#define RELAY_DOMAIN_CONFIGURED 0
#define RELAY_DOMAIN_RUNNING 1
#define RELAY_DOMAIN_PAUSED 2
#define RELAY_DOMAIN_CRASHED 3
#define RELAY_DOMAIN_SHUT_DOWN 4

/* Shutdown reasons: schema ShutdownReason values (not Xen's SHUTDOWN_* numbers). */
#define RELAY_SHUTDOWN_POWEROFF 1
#define RELAY_SHUTDOWN_REBOOT 2
#define RELAY_SHUTDOWN_CRASH 4

/* Hyperlaunch permissions and functions (docs/hyperlaunch.md). */
#define RELAY_PERMISSION_CONTROL (1u << 0)
#define RELAY_PERMISSION_HARDWARE (1u << 1)

#define RELAY_DOMAIN_NAME_LENGTH 32

/* One entry of RELAY_HC_DOMAIN_LIST: 64 bytes. */
struct relay_domain_entry {
    uint16_t domid;
    uint8_t lifecycle; /* RELAY_DOMAIN_* */
    uint8_t shutdown_reason;
    uint32_t permissions;
    uint32_t functions;
    uint16_t vcpus;
    uint16_t reserved0;
    uint64_t memory_kib;
    char name[RELAY_DOMAIN_NAME_LENGTH]; /* NUL-terminated */
    uint64_t reserved1;
};

/* RELAY_HC_DOMAIN_INFO output: 128 bytes. */
struct relay_domain_info {
    struct relay_domain_entry entry;
    uint8_t uuid[16];
    uint64_t pause_count;
    uint64_t exits;       /* VM exits handled for this domain */
    uint64_t run_time_ns; /* time its vCPUs spent in guest mode */
    uint64_t reserved[3];
};

/* RELAY_HC_VCPU_UP start state: the vCPU starts in 64-bit mode with the boot vCPU's
 * control registers, segments and page tables, at `rip` with `rsp` and RDI = `rdi`. */
struct relay_vcpu_start {
    uint64_t rip;
    uint64_t rsp;
    uint64_t rdi;
    uint64_t reserved[5]; /* must be zero */
};

#endif
