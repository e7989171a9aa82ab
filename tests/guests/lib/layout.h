/*
 * Constants the test guests' assembly and C++ share (docs/testing.md, "Guest library").
 * Plain C preprocessor definitions so that the .S files can include them.
 */
#ifndef RELAY_TESTS_GUESTS_LIB_LAYOUT_H
#define RELAY_TESTS_GUESTS_LIB_LAYOUT_H

/* vCPUs a guest can run; a domain with more runs only these (the guest says so). */
#define GUEST_MAX_VCPUS 16

/* Each vCPU's stack, in .bss: vCPU n runs on [stacks + n * size, stacks + (n + 1) * size).
 * The exception handlers run on the same stack (no IST), so the stack also identifies the
 * vCPU (current_vcpu()). */
#define GUEST_VCPU_STACK_SIZE 0x4000

/* struct FaultCatcher (fault_catching.hpp): what guest_call_catching_faults saves and the
 * exception handler restores to abandon a faulting body. */
#define GUEST_FAULT_CATCHER_RBX 0
#define GUEST_FAULT_CATCHER_RBP 8
#define GUEST_FAULT_CATCHER_R12 16
#define GUEST_FAULT_CATCHER_R13 24
#define GUEST_FAULT_CATCHER_R14 32
#define GUEST_FAULT_CATCHER_R15 40
#define GUEST_FAULT_CATCHER_RSP 48
#define GUEST_FAULT_CATCHER_RIP 56
#define GUEST_FAULT_CATCHER_SIZE 64

#endif
