// Test build whose compatibility note honestly says it reads only schema major 2: the
// live-update pre-flight must refuse it before pausing anything.
#include "hv/build_info.hpp"

namespace relay {
const BuildVariant kBuildVariant{"incompatible", "0.1.0+incompatible", true, 2, 2};
}
