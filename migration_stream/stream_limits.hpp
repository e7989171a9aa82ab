// Explicit limits the verifier enforces before trusting a stream (docs/stream-format.md,
// "Limits"). They bound the verifier's work and the memory a consumer must set aside, and
// are generous for any real host: a stream that exceeds one is refused with the limit's
// name. Producers must stay inside them too.
#pragma once

#include "lib/types.hpp"

namespace relay::stream {

struct StreamLimits {
    u64 max_payload_bytes = 256 * MiB;
    // FlatBuffers Verifier: nesting of tables and vectors (HostState → domains → Domain →
    // vcpus → Vcpu → lapic is 6 deep) and the number of tables visited.
    u32 max_depth = 16;
    u32 max_tables = 1u << 22;
    u32 max_domains = 1024;
    u32 max_vcpus_per_domain = 256;
    u32 max_extents_per_domain = 1u << 16;
    u32 max_total_extents = 1u << 20;
    u32 max_preserved_ranges = 1u << 16;
    u32 max_boot_modules = 4096;
    u32 max_iommu_units = 64;
    u32 max_assigned_functions = 256;  // PCI functions assigned to domains, in all
    u32 max_assignments_per_iommu = 1u << 16;
    u32 max_table_frames_per_iommu = 1u << 18;
    u32 max_update_records = 4096;
    u32 max_update_phases = 64;
    u32 max_name_bytes = 64;
    u32 max_security_id_bytes = 256;
    u32 max_command_line_bytes = 4096;  // bootargs and boot module command lines
    u32 max_version_bytes = 256;
    u32 max_xsave_bytes = 64 * KiB;
    u32 max_console_bytes = 64 * KiB;  // unsent output, receive FIFO
    u32 max_mtrr_variable_ranges = 64;
};

inline constexpr StreamLimits kDefaultStreamLimits{};

// Guest-physical and host-physical addresses are at most 52 bits wide (AMD APM vol. 2
// §5.3.3, MAXPHYADDR); extents and ranges must end below this.
inline constexpr u64 kPhysicalAddressLimit = u64{1} << 52;

// TSC frequencies a stream may record (0: not recorded). Real TSCs run at 1-6 GHz;
// Relay's timer arithmetic needs the frequency in kHz below 2^23 (8.39 GHz, the virtual
// local APIC's ticks x kHz product), and anything below 1 MHz cannot count microseconds.
inline constexpr u64 kMinTscKhz = 1'000;
inline constexpr u64 kMaxTscKhz = (u64{1} << 23) - 1;

// Xen's DOMID_FIRST_RESERVED: domids at or above it are special, except the Hyperlaunch
// boot domain's 0x7FF5 (hyperlaunch-devicetree.rst).
inline constexpr u16 kFirstReservedDomid = 0x7FF0;
inline constexpr u16 kHyperlaunchBootDomid = 0x7FF5;
inline constexpr u16 kNoOwnerDomid = 0xFFFF;

}  // namespace relay::stream
