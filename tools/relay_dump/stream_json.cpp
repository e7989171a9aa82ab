#include "tools/relay_dump/stream_json.hpp"

#include "schema/relay_bfbs_generated.h"

namespace relay::tools {

StreamSchema::StreamSchema()
    : bfbs_(schema::HostStateBinarySchema::data(),
            schema::HostStateBinarySchema::data() + schema::HostStateBinarySchema::size()) {
    schema_ = reflection::GetSchema(bfbs_.data());
}

const StreamSchema& StreamSchema::embedded() {
    static const StreamSchema schema;
    return schema;
}

namespace {

std::unique_ptr<flatbuffers::Parser> make_parser(const std::vector<uint8_t>& bfbs, bool defaults) {
    flatbuffers::IDLOptions options;
    options.strict_json = true;
    options.output_default_scalars_in_json = defaults;
    options.output_enum_identifiers = true;
    options.indent_step = 2;
    auto parser = std::make_unique<flatbuffers::Parser>(options);
    if (!parser->Deserialize(bfbs.data(), bfbs.size())) {
        return nullptr;
    }
    return parser;
}

}  // namespace

Result<std::string> StreamSchema::to_json(const void* payload, bool defaults) const {
    auto parser = make_parser(bfbs_, defaults);
    if (parser == nullptr) {
        return Error(ErrorCode::kInternal, "embedded binary schema does not load");
    }
    std::string text;
    if (!flatbuffers::GenerateText(*parser, payload, &text)) {
        return Error(ErrorCode::kInternal, "FlatBuffers could not print the payload as JSON");
    }
    return text;
}

Result<std::vector<uint8_t>> StreamSchema::from_json(const std::string& json) const {
    auto parser = make_parser(bfbs_, false);
    if (parser == nullptr) {
        return Error(ErrorCode::kInternal, "embedded binary schema does not load");
    }
    if (!parser->ParseJson(json.c_str())) {
        std::string error = parser->error_;
        if (error.size() > 180) {
            error = error.substr(0, 180) + "...";
        }
        return Error(ErrorCode::kInvalidArgument, "JSON does not match the HostState schema: {}",
                     error.c_str());
    }
    const uint8_t* data = parser->builder_.GetBufferPointer();
    return std::vector<uint8_t>(data, data + parser->builder_.GetSize());
}

}  // namespace relay::tools
