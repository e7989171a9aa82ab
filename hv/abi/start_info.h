/*
 * The start-info block: what a Relay domain finds in memory when its first vCPU starts
 * (docs/hyperlaunch.md, "Guest start state"). Plain C layout shared by the hypervisor's
 * domain builder and guests.
 *
 * Start state of the boot vCPU: 64-bit mode, CPL 0, paging on with an identity map of all
 * guest RAM (2 MiB pages, built by Relay at RELAY_GUEST_PAGE_TABLES), a flat GDT at
 * RELAY_GUEST_GDT (0x08 code, 0x10 data), interrupts off, no IDT, RDI = guest-physical
 * address of this block, RSP = RELAY_GUEST_BOOT_STACK_TOP, RIP = the kernel's ELF entry.
 */
#ifndef RELAY_ABI_START_INFO_H
#define RELAY_ABI_START_INFO_H

#include <stdint.h>

#define RELAY_START_INFO_MAGIC 0x4F464E4959414C52ull /* "RLAYINFO" */
#define RELAY_START_INFO_VERSION 1

/* Guest-physical layout of the builder's low memory. */
#define RELAY_GUEST_START_INFO 0x1000ull /* this block, then its arrays and strings */
#define RELAY_GUEST_START_INFO_SIZE 0x2000ull
#define RELAY_GUEST_GDT 0x3000ull
#define RELAY_GUEST_PAGE_TABLES 0x10000ull /* PML4, PDPT, page directories */
#define RELAY_GUEST_PAGE_TABLES_END 0x80000ull
#define RELAY_GUEST_BOOT_STACK_TOP 0x90000ull
#define RELAY_GUEST_KERNEL_MIN 0x100000ull /* kernels load at or above 1 MiB */

/* Selectors of the start-of-day GDT at RELAY_GUEST_GDT. */
#define RELAY_GUEST_CODE_SELECTOR 0x08
#define RELAY_GUEST_DATA_SELECTOR 0x10

#define RELAY_MEMORY_RAM 1
#define RELAY_MEMORY_RESERVED 2

struct relay_memory_range {
    uint64_t base;
    uint64_t size;
    uint32_t type; /* RELAY_MEMORY_* */
    uint32_t reserved;
};

#define RELAY_MODULE_KERNEL 1
#define RELAY_MODULE_RAMDISK 2

struct relay_start_module {
    uint64_t guest_phys;
    uint64_t size;
    uint32_t kind; /* RELAY_MODULE_* */
    uint32_t reserved;
};

struct relay_start_info {
    uint64_t magic;   /* RELAY_START_INFO_MAGIC */
    uint32_t version; /* RELAY_START_INFO_VERSION */
    uint32_t size;    /* sizeof(struct relay_start_info) as written */
    uint16_t domid;
    uint16_t vcpus;
    uint32_t permissions; /* RELAY_PERMISSION_* */
    uint32_t functions;
    uint16_t console_port; /* emulated 16550 UART, 0x3F8 */
    uint16_t reserved0;
    uint64_t memory_size;         /* bytes of guest RAM */
    uint64_t tsc_frequency_khz;   /* the guest's TSC */
    uint64_t command_line;        /* guest-physical, NUL-terminated (Hyperlaunch bootargs) */
    uint32_t command_line_length; /* bytes before the NUL */
    uint32_t memory_range_count;
    uint64_t memory_ranges; /* guest-physical array of struct relay_memory_range */
    uint32_t module_count;
    uint32_t reserved1;
    uint64_t modules; /* guest-physical array of struct relay_start_module */
    uint8_t uuid[16];
    char name[32];
    uint64_t reserved[8];
};

#endif
