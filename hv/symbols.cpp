#include "hv/symbols.hpp"

#include "lib/format.hpp"

// Layout written by tools/build/gen_symbols.py:
//   u32 magic 'RSYM', u32 count, u32 strings_offset (from the table start), u32 reserved,
//   count × { u64 address, u32 size, u32 name_offset }, sorted by address,
//   then NUL-terminated names.
extern "C" const unsigned char relay_symbol_table[];

namespace relay {

namespace {

constexpr u32 kMagic = 0x4D595352;  // "RSYM"

struct [[gnu::packed]] Entry {
    u64 address;
    u32 size;
    u32 name_offset;
};

u32 read_u32(const unsigned char* p) {
    return static_cast<u32>(p[0]) | static_cast<u32>(p[1]) << 8 | static_cast<u32>(p[2]) << 16 |
           static_cast<u32>(p[3]) << 24;
}

}  // namespace

u32 symbol_count() {
    if (read_u32(relay_symbol_table) != kMagic) {
        return 0;
    }
    return read_u32(relay_symbol_table + 4);
}

void symbolize(u64 address, char* out, usize capacity) {
    u32 count = symbol_count();
    const auto* entries = reinterpret_cast<const Entry*>(relay_symbol_table + 16);
    const char* strings =
        reinterpret_cast<const char*>(relay_symbol_table + read_u32(relay_symbol_table + 8));
    // Last entry with address <= target.
    u32 low = 0;
    u32 high = count;
    while (low < high) {
        u32 middle = low + (high - low) / 2;
        if (entries[middle].address <= address) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    if (low == 0) {
        format_to_buffer(out, capacity, "?");
        return;
    }
    const Entry& entry = entries[low - 1];
    u64 offset = address - entry.address;
    if (entry.size != 0 && offset >= entry.size) {
        format_to_buffer(out, capacity, "?");
        return;
    }
    format_to_buffer(out, capacity, "{}+{:#x}", strings + entry.name_offset, offset);
}

}  // namespace relay
