// The build variant of the production image (hv/build_info.hpp).
#include "hv/build_info.hpp"

namespace relay {
const BuildVariant kBuildVariant{"default", "0.1.0", false, 0, 0};
}
