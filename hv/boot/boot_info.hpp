// BootInfo: what the loader told us, in one shape whichever multiboot flavour booted us
// (docs/boot.md). Parsers copy everything they keep into this structure, so the loader's
// memory can be reused afterwards. Fixed capacity; no heap.
#pragma once

#include <string_view>

#include "lib/address.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay {

// E820/multiboot memory types (Multiboot 0.6.96 §3.3, ACPI 6.4 §15).
enum class MemoryType : u8 {
    kUsable = 1,
    kReserved = 2,
    kAcpiReclaimable = 3,
    kAcpiNvs = 4,
    kBadMemory = 5,
    // Relay's live-update type (kexec/multiboot2_writer.hpp): memory the previous build
    // carried across the handover (guest RAM, the stream, boot modules). Usable, but only
    // once the stream has said who owns it.
    kPreserved = 0x52,
};

const char* memory_type_name(MemoryType type);

struct MemoryRegion {
    HostPhysAddr base;
    u64 size = 0;
    MemoryType type = MemoryType::kReserved;
};

enum class BootProtocol : u8 { kMultiboot1 = 1, kMultiboot2 = 2 };

struct BootModule {
    HostPhysRange range;
    u32 command_line_offset = 0;  // into BootInfo's string pool
    u32 command_line_length = 0;
};

class BootInfo {
public:
    static constexpr usize kMaxMemoryRegions = 128;
    static constexpr usize kMaxModules = 64;
    static constexpr usize kStringPoolCapacity = 16 * 1024;
    static constexpr usize kMaxStringLength = 4096;
    static constexpr usize kRsdpMaxLength = 36;

    BootProtocol protocol = BootProtocol::kMultiboot1;
    HostPhysRange image;           // where this hypervisor image lies
    HostPhysRange info_structure;  // where the loader put its boot information

    usize memory_region_count = 0;
    MemoryRegion memory_map[kMaxMemoryRegions];

    usize module_count = 0;
    BootModule modules[kMaxModules];

    // RSDP copied from multiboot2's ACPI tags; multiboot1 does not pass one (the ACPI
    // code then searches the BIOS areas).
    usize rsdp_length = 0;
    u8 rsdp[kRsdpMaxLength] = {};

    // Multiboot2 "image load base physical address" tag, when the loader gave one.
    bool has_load_base = false;
    HostPhysAddr load_base;

    std::string_view command_line() const {
        return string_at(command_line_offset_, command_line_length_);
    }
    std::string_view bootloader_name() const {
        return string_at(bootloader_name_offset_, bootloader_name_length_);
    }
    std::string_view module_command_line(usize index) const {
        return string_at(modules[index].command_line_offset, modules[index].command_line_length);
    }

    // Appends a string to the pool; fails when the pool is full.
    Status store_string(std::string_view text, u32* offset, u32* length);
    Status set_command_line(std::string_view text) {
        return store_string(text, &command_line_offset_, &command_line_length_);
    }
    Status set_bootloader_name(std::string_view text) {
        return store_string(text, &bootloader_name_offset_, &bootloader_name_length_);
    }
    Status add_memory_region(HostPhysAddr base, u64 size, MemoryType type);
    Status add_module(HostPhysAddr start, u64 size, std::string_view command_line);

    // Checks what both parsers must guarantee: modules lie inside addressable memory,
    // do not overlap each other, the image, or the boot information structure.
    Status validate() const;

private:
    std::string_view string_at(u32 offset, u32 length) const {
        return std::string_view(string_pool_ + offset, length);
    }

    u32 command_line_offset_ = 0;
    u32 command_line_length_ = 0;
    u32 bootloader_name_offset_ = 0;
    u32 bootloader_name_length_ = 0;
    usize string_pool_used_ = 0;
    char string_pool_[kStringPoolCapacity] = {};
};

// Reads a NUL-terminated string of at most BootInfo::kMaxStringLength bytes at `address`.
class PhysicalMemoryReader;
Result<std::string_view> read_physical_string(const PhysicalMemoryReader& memory,
                                              HostPhysAddr address, const char* what);

}  // namespace relay
