/* The first-stage link's symbol table: empty (hv/symbols.hpp explains the two links). */
    .section .hv_symbols, "a"
    .balign 16
    .globl relay_symbol_table
relay_symbol_table:
    .quad 0, 0
    .section .note.GNU-stack, "", @progbits
