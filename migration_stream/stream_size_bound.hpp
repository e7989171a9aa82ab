// An upper bound on the scratch memory StreamWriter needs for a HostState of a given
// shape. FlatBuffers' builder cannot take a failed allocation (scratch_allocator.hpp), so
// the producer checks this bound with StreamWriter::reserve() before building.
//
// Each per-object constant covers the object's table (fields, vtable, worst-case
// alignment padding), the offset that points at it and the builder's bookkeeping; strings
// and byte vectors are counted by their content plus a per-object allowance. The unit
// test stream_size_bound_test checks the bound against real builds of every shape it
// uses, including every optional field set.
#pragma once

#include "lib/types.hpp"

namespace relay::stream {

struct StreamShape {
    usize domains = 0;
    usize vcpus = 0;    // all domains
    usize extents = 0;  // all domains
    usize preserved_ranges = 0;
    usize boot_modules = 0;
    usize iommu_units = 0;
    usize iommu_assignments = 0;   // all units
    usize iommu_table_frames = 0;  // all units
    usize update_records = 0;
    usize update_phases = 0;         // all records
    usize mtrr_variable_ranges = 0;  // all vCPUs
    usize string_bytes = 0;          // every string's content: names, ids, command lines...
    usize byte_vector_bytes = 0;     // XSAVE areas, console output and input
};

namespace size_bound {
inline constexpr usize kHostState = 1024;  // root, producer, handover, vector headers
inline constexpr usize kPerDomain = 2048;  // domain, boot config, modules, console, UART
inline constexpr usize kPerVcpu = 3072;    // vCPU, MSRs with fixed MTRRs, local APIC, CET
inline constexpr usize kPerExtent = 32;
inline constexpr usize kPerPreservedRange = 24;
inline constexpr usize kPerBootModule = 160;
inline constexpr usize kPerIommuUnit = 384;
inline constexpr usize kPerIommuAssignment = 128;
inline constexpr usize kPerIommuTableFrame = 16;
inline constexpr usize kPerUpdateRecord = 320;
inline constexpr usize kPerUpdatePhase = 96;
inline constexpr usize kPerMtrrVariableRange = 16;
}  // namespace size_bound

// Bytes of scratch memory (saturates at the largest usize instead of wrapping).
usize stream_size_bound(const StreamShape& shape);

}  // namespace relay::stream
