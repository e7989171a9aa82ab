#include "hv/build_info.hpp"

#include <cstring>

extern "C" const char __notes_start[], __notes_end[];

namespace relay {

namespace {

constexpr u32 kNoteGnuBuildId = 3;  // NT_GNU_BUILD_ID

BuildId scan_notes() {
    BuildId id;
    const char* cursor = __notes_start;
    // ELF note: namesz, descsz, type, name (4-aligned), desc (4-aligned).
    while (cursor + 12 <= __notes_end) {
        u32 name_size;
        u32 desc_size;
        u32 type;
        std::memcpy(&name_size, cursor, 4);
        std::memcpy(&desc_size, cursor + 4, 4);
        std::memcpy(&type, cursor + 8, 4);
        const char* name = cursor + 12;
        const char* desc = name + ((name_size + 3) & ~3u);
        const char* next = desc + ((desc_size + 3) & ~3u);
        if (next > __notes_end) {
            break;
        }
        if (type == kNoteGnuBuildId && name_size == 4 && std::memcmp(name, "GNU", 4) == 0) {
            id.length = desc_size < sizeof(id.bytes) ? desc_size : sizeof(id.bytes);
            std::memcpy(id.bytes, desc, id.length);
            break;
        }
        cursor = next;
    }
    return id;
}

}  // namespace

const BuildId& build_id() {
    static BuildId id = scan_notes();
    return id;
}

void build_id_hex(char* out, usize capacity, usize bytes) {
    const BuildId& id = build_id();
    static constexpr char kHex[] = "0123456789abcdef";
    usize count = bytes < id.length ? bytes : id.length;
    usize position = 0;
    for (usize i = 0; i < count && position + 2 < capacity; ++i) {
        out[position++] = kHex[id.bytes[i] >> 4];
        out[position++] = kHex[id.bytes[i] & 0xF];
    }
    if (capacity > 0) {
        out[position < capacity ? position : capacity - 1] = '\0';
    }
}

}  // namespace relay
