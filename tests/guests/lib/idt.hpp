// The guest's interrupt descriptor table: vectors 0-31 go to exception handlers
// (exceptions.hpp). Relay starts a vCPU with no IDT, so without this any exception would
// triple-fault the domain instead of printing a report.
#pragma once

namespace relay::guest {

// Fills the table (once, on the boot vCPU, before any other vCPU starts).
void idt_install();

// Loads the table on the running vCPU (every vCPU does it once).
void idt_load();

}  // namespace relay::guest
