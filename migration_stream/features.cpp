#include "migration_stream/features.hpp"

#include "lib/assert.hpp"

namespace relay::stream {
namespace {

// Append only. A new feature takes the next free bit of its class and the schema minor
// that introduced the data it announces.
constexpr FeatureInfo kFeatures[] = {
    {Feature::kIommuState, FeatureClass::kRequired, 0, 0, "iommu-state",
     "IOMMU units, device assignments and table frames the target must adopt live"},
    {Feature::kXsaveState, FeatureClass::kRequired, 1, 0, "xsave-state",
     "vCPU XSAVE areas (extended register state) the target must restore"},
    {Feature::kLargePages, FeatureClass::kRequired, 2, 0, "large-pages",
     "memory extents mapped with 2 MiB or 1 GiB nested pages"},
    {Feature::kCetState, FeatureClass::kRequired, 3, 1, "cet-state",
     "vCPU control-flow enforcement (shadow stack) state"},
    {Feature::kDeviceAssignment, FeatureClass::kRequired, 4, 2, "device-assignment",
     "PCI functions assigned to domains (their DMA goes through the IOMMU)"},
    {Feature::kUpdateHistory, FeatureClass::kOptional, 0, 0, "update-history",
     "records of earlier live updates (informational)"},
    {Feature::kConsoleOutput, FeatureClass::kOptional, 1, 0, "console-output",
     "console bytes not yet delivered (guest output, pending input)"},
    {Feature::kUpdatePhases, FeatureClass::kOptional, 2, 1, "update-phase-timings",
     "per-phase durations of each recorded update (informational)"},
};

bool equal(const char* a, std::string_view b) {
    usize i = 0;
    for (; a[i] != '\0'; ++i) {
        if (i >= b.size() || a[i] != b[i]) {
            return false;
        }
    }
    return i == b.size();
}

}  // namespace

const FeatureInfo* known_features(usize* count) {
    *count = array_size(kFeatures);
    return kFeatures;
}

const FeatureInfo& feature_info(Feature feature) {
    for (const FeatureInfo& info : kFeatures) {
        if (info.feature == feature) {
            return info;
        }
    }
    RELAY_ASSERT(false && "feature missing from kFeatures");
    return kFeatures[0];
}

u64 feature_mask(Feature feature) {
    return feature_mask(feature_info(feature).bit);
}

const FeatureInfo* find_feature(FeatureClass feature_class, u8 bit) {
    for (const FeatureInfo& info : kFeatures) {
        if (info.feature_class == feature_class && info.bit == bit) {
            return &info;
        }
    }
    return nullptr;
}

const FeatureInfo* find_feature_by_name(std::string_view name) {
    for (const FeatureInfo& info : kFeatures) {
        if (equal(info.name, name)) {
            return &info;
        }
    }
    return nullptr;
}

u64 known_feature_mask(FeatureClass feature_class, u16 up_to_schema_minor) {
    u64 mask = 0;
    for (const FeatureInfo& info : kFeatures) {
        if (info.feature_class == feature_class && info.since_schema_minor <= up_to_schema_minor) {
            mask |= feature_mask(info.bit);
        }
    }
    return mask;
}

const char* feature_class_name(FeatureClass feature_class) {
    return feature_class == FeatureClass::kRequired ? "required" : "optional";
}

}  // namespace relay::stream
