// Attacks the hypervisor must answer by ending the domain: a store or load outside its
// RAM (a nested-paging fault on memory the domain does not own) and a triple fault. The
// hypervisor crashes this domain only, prints a report, and every other domain keeps
// running. Each attack says what it is about to do first: nothing after it should appear.
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/identity_mapping.hpp"
#include "tests/guests/rogue/attacks.hpp"

namespace relay::guest::rogue {

namespace {

// Relay maps only RAM: without a mapping of its own the access would be a page fault
// inside the guest, not a nested-paging fault the hypervisor must handle.
volatile u64* map_outside(u64 address) {
    return static_cast<volatile u64*>(map_identity(address, sizeof(u64), Caching::kWriteBack));
}

}  // namespace

void attack_write_outside(const RogueContext& context) {
    volatile u64* target = map_outside(context.outside_address);
    log_line("now writing outside RAM at {:#x} (RAM ends at {:#x})", context.outside_address,
             context.memory_size);
    console_flush();
    *target = 0x524F'4755'4521'2121ull;  // "ROGUE!!!"
    log_line("UNEXPECTED: still running after writing outside RAM at {:#x} (reads back {:#x})",
             context.outside_address, *target);
}

void attack_read_outside(const RogueContext& context) {
    volatile u64* target = map_outside(context.outside_address);
    log_line("now reading outside RAM at {:#x} (RAM ends at {:#x})", context.outside_address,
             context.memory_size);
    u64 value = *target;
    log_line("UNEXPECTED: still running after reading {:#x} outside RAM at {:#x}", value,
             context.outside_address);
}

void attack_triple_fault(const RogueContext&) {
    log_line("now triple-faulting: empty IDT, then an invalid opcode");
    // #UD cannot be delivered (no IDT entry: #GP), nor can the #GP (#DF), nor the #DF:
    // the processor shuts down, which the hypervisor sees as a shutdown intercept.
    DescriptorTableRegister empty{0, 0};
    load_idt(empty);
    asm volatile("ud2" ::: "memory");
    log_line("UNEXPECTED: still running after a triple fault");
}

}  // namespace relay::guest::rogue
