// relay-dump make --schema-minor N: refuses a payload that uses fields introduced after
// minor N (the schema marks them with the `since_minor` attribute), naming the first one.
#pragma once

#include "lib/result.hpp"

namespace relay::tools {

Status check_fields_within_minor(const void* payload, unsigned schema_minor);

}  // namespace relay::tools
