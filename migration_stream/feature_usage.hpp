// Which feature bits a HostState's content needs (features.hpp): the writer sets them,
// the verifier checks that a stream sets every required bit its content needs.
#pragma once

#include "lib/types.hpp"
#include "schema/relay_generated.h"

namespace relay::stream {

struct FeatureUse {
    u64 required = 0;
    u64 optional = 0;
};

// Reads only fields a verified (or self-built) payload has; touches no other memory.
FeatureUse scan_feature_use(const schema::HostState& state);

}  // namespace relay::stream
