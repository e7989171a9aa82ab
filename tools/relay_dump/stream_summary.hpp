// relay-dump show: a readable summary of a verified stream (header, host, domains,
// vCPUs, memory extents, IOMMU, update history).
#pragma once

#include <string>

#include "migration_stream/stream_verifier.hpp"

namespace relay::tools {

std::string summarize_header(const stream::StreamHeader& header);
std::string summarize_stream(const stream::VerifiedStream& stream);

}  // namespace relay::tools
