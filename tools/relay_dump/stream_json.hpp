// HostState payload <-> JSON through FlatBuffers reflection with the binary schema that
// is embedded in the tool (schema/relay_bfbs_generated.h): no hand-written printers, so
// every field of the schema appears, and new fields appear without code changes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <flatbuffers/idl.h>
#include <flatbuffers/reflection.h>

#include "lib/result.hpp"

namespace relay::tools {

class StreamSchema {
public:
    // Loads the embedded schema (relay.fbs as built into this tool).
    static const StreamSchema& embedded();

    const reflection::Schema& schema() const { return *schema_; }
    const reflection::Object& root() const { return *schema_->root_table(); }

    // JSON of a payload that passed the FlatBuffers Verifier. `defaults` also prints
    // fields equal to their default (complete output); off gives only what is stored.
    Result<std::string> to_json(const void* payload, bool defaults = true) const;

    // A finished HostState payload (with file identifier) from JSON text.
    Result<std::vector<uint8_t>> from_json(const std::string& json) const;

private:
    StreamSchema();
    std::vector<uint8_t> bfbs_;
    const reflection::Schema* schema_ = nullptr;
};

}  // namespace relay::tools
