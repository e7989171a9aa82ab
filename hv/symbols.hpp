// Symbolization of hypervisor addresses for exception reports and panics.
//
// The image carries its own symbol table (function start, size, demangled name), made at
// build time from a first link of the image and linked into the second, so stack traces
// name functions without any host tool. The table sits at the end of .rodata, after every
// function, so adding it does not move any code (tools/build/gen_symbols.py).
#pragma once

#include "lib/types.hpp"

namespace relay {

// Writes "name+0xoffset" (or "?" when unknown) into `out`.
void symbolize(u64 address, char* out, usize capacity);

// Number of symbols in the embedded table (0 in the first-stage link).
u32 symbol_count();

}  // namespace relay
