// Writes multiboot2 boot information (Multiboot2 1.0 §3.6) for the image Relay hands over
// to: the target build of a live update, or the previous build on rollback. The same
// parser that reads a boot loader's information reads it (hv/boot/multiboot2.cpp), and
// the unit tests round-trip through it. No heap: writes into caller memory.
#pragma once

#include <string_view>

#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay::kexec {

// Memory map entry types: the multiboot ones, plus Relay's "preserved" type for memory a
// live update carries across (guest RAM, the stream, boot modules). Other systems treat
// an unknown type as reserved; Relay's parser reports it as MemoryType::kPreserved.
inline constexpr u32 kMemoryUsable = 1;
inline constexpr u32 kMemoryReserved = 2;
inline constexpr u32 kMemoryAcpiReclaimable = 3;
inline constexpr u32 kMemoryAcpiNvs = 4;
inline constexpr u32 kMemoryBad = 5;
inline constexpr u32 kMemoryRelayPreserved = 0x5245'4C59;  // "RELY"

struct Multiboot2MemoryEntry {
    u64 base = 0;
    u64 size = 0;
    u32 type = kMemoryUsable;
};

class Multiboot2Writer {
public:
    // `buffer` must be 8-byte aligned; the information is built in place.
    Multiboot2Writer(void* buffer, usize capacity);

    Status add_command_line(std::string_view text);
    Status add_bootloader_name(std::string_view text);
    Status add_module(HostPhysAddr start, u64 size, std::string_view command_line);
    Status add_memory_map(const Multiboot2MemoryEntry* entries, usize count);
    // 20 bytes (ACPI 1.0 RSDP) or 36 (2.0+).
    Status add_acpi_rsdp(const u8* rsdp, usize length);
    Status add_load_base(HostPhysAddr base);

    // Adds the end tag and the total size; returns the size. The writer is spent after.
    Result<usize> finish();

private:
    Result<u8*> begin_tag(u32 type, usize payload);
    Status add_string_tag(u32 type, std::string_view text);

    u8* buffer_;
    usize capacity_;
    usize used_;
    bool finished_ = false;
};

// Splits a memory map so that every range in `preserved` is its own entry of type
// kMemoryRelayPreserved (clipped to memory the map reports usable). Writes at most
// `capacity` entries to `out`; returns how many, or an error if they do not fit.
Result<usize> mark_preserved(const Multiboot2MemoryEntry* map, usize map_count,
                             const HostPhysRange* preserved, usize preserved_count,
                             Multiboot2MemoryEntry* out, usize capacity);

}  // namespace relay::kexec
