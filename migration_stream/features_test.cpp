#include "migration_stream/features.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "migration_stream/stream_header.hpp"

namespace relay::stream {
namespace {

// The feature table is the single source of truth: bits unique per class, names unique,
// every Feature listed, nothing from a schema minor this build does not write.
TEST(Features, TableIsConsistent) {
    usize count = 0;
    const FeatureInfo* features = known_features(&count);
    std::set<std::string> names;
    std::set<std::pair<int, int>> bits;
    for (usize i = 0; i < count; ++i) {
        EXPECT_TRUE(names.insert(features[i].name).second) << features[i].name;
        EXPECT_TRUE(
            bits.insert({static_cast<int>(features[i].feature_class), features[i].bit}).second)
            << features[i].name;
        EXPECT_LT(features[i].bit, 64);
        EXPECT_LE(features[i].since_schema_minor, kSchemaMinor) << features[i].name;
        EXPECT_EQ(&feature_info(features[i].feature), &features[i]);
        EXPECT_EQ(find_feature(features[i].feature_class, features[i].bit), &features[i]);
        EXPECT_EQ(find_feature_by_name(features[i].name), &features[i]);
    }
    EXPECT_EQ(find_feature(FeatureClass::kRequired, 63), nullptr);
    EXPECT_EQ(find_feature_by_name("iommu"), nullptr);
}

TEST(Features, MasksPerMinor) {
    EXPECT_EQ(known_feature_mask(FeatureClass::kRequired, 0), 0x7u);
    EXPECT_EQ(known_feature_mask(FeatureClass::kRequired, 1), 0xFu);
    EXPECT_EQ(known_feature_mask(FeatureClass::kRequired), 0x1Fu);
    EXPECT_EQ(known_feature_mask(FeatureClass::kOptional, 0), 0x3u);
    EXPECT_EQ(known_feature_mask(FeatureClass::kOptional), 0x7u);
}

}  // namespace
}  // namespace relay::stream
