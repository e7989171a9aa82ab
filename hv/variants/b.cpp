// A second build of the same sources, for live updates from one build to another in
// tests and the demo: a different version string, hence a different build id.
#include "hv/build_info.hpp"

namespace relay {
const BuildVariant kBuildVariant{"b", "0.1.0+b", false, 0, 0};
}
