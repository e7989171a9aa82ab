// What changed between two verified streams (before/after an update): header fields, then
// a reflection walk of the payloads. Vectors of tables are matched by their identity
// field (domains by domid, vCPUs by id, update records by sequence, boot modules by
// index, device assignments by BDF) so an added domain reads as one line, not a cascade.
#pragma once

#include <string>
#include <vector>

#include "migration_stream/stream_verifier.hpp"

namespace relay::tools {

// One line per difference, e.g.
//   "domains[domid=2].vcpus[id=0].rip: 0xffffffff81000000 -> 0xffffffff81000123".
std::vector<std::string> diff_streams(const stream::VerifiedStream& before,
                                      const stream::VerifiedStream& after);

}  // namespace relay::tools
