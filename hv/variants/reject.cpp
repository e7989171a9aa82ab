// Test build that claims (in its note) to read this schema, but whose reader accepts
// only schema major 2: the pre-flight passes and the target rejects the stream, which
// exercises rollback through the real verifier.
#include "hv/build_info.hpp"

namespace relay {
const BuildVariant kBuildVariant{"reject", "0.1.0+reject", true, 2, 2};
}
