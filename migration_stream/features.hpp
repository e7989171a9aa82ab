// The stream's feature bits, in one table (docs/stream-format.md, "Feature bits").
//
// A producer sets a *required* bit for state a consumer must understand to resume the
// guests correctly; a consumer refuses a stream with a required bit it does not know. An
// *optional* bit announces data a consumer may ignore. Required and optional bits are two
// separate 64-bit spaces in the header. Bits are never reused: a retired feature keeps its
// bit and name forever.
#pragma once

#include <string_view>

#include "lib/types.hpp"

namespace relay::stream {

enum class FeatureClass : u8 { kRequired, kOptional };

enum class Feature : u8 {
    // Required bits.
    kIommuState,        // live IOMMU units whose tables the target must adopt
    kXsaveState,        // vCPU XSAVE areas beyond the architectural reset state
    kLargePages,        // memory extents mapped with 2 MiB / 1 GiB nested pages
    kCetState,          // vCPU control-flow enforcement state (schema 1.1)
    kDeviceAssignment,  // PCI functions assigned to domains (schema 1.2)
    // Optional bits.
    kUpdateHistory,  // the record of earlier live updates
    kConsoleOutput,  // console bytes not yet delivered (guest output, pending input)
    kUpdatePhases,   // per-phase timings in update records (schema 1.1)
};

struct FeatureInfo {
    Feature feature;
    FeatureClass feature_class;
    u8 bit;
    u16 since_schema_minor;  // schema minor (of major 1) that introduced it
    const char* name;        // stable, used in error messages and relay-dump
    const char* description;
};

// Every feature this build knows, in bit order per class.
const FeatureInfo* known_features(usize* count);

const FeatureInfo& feature_info(Feature feature);
constexpr u64 feature_mask(u8 bit) {
    return u64{1} << bit;
}
u64 feature_mask(Feature feature);

// Looks a bit up in this build's table; nullptr when the bit is not known.
const FeatureInfo* find_feature(FeatureClass feature_class, u8 bit);
const FeatureInfo* find_feature_by_name(std::string_view name);

// Bits of one class this build knows (optionally only those introduced up to a minor).
u64 known_feature_mask(FeatureClass feature_class, u16 up_to_schema_minor = 0xFFFF);

const char* feature_class_name(FeatureClass feature_class);

}  // namespace relay::stream
