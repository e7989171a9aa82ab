#include "tools/relay_dump/schema_minor_check.hpp"

#include <cstdlib>
#include <string>

#include "tools/relay_dump/reflection_values.hpp"
#include "tools/relay_dump/stream_json.hpp"

namespace relay::tools {
namespace {

Status check_table(const reflection::Schema& schema, const reflection::Object& object,
                   const flatbuffers::Table& table, unsigned minor, const std::string& path) {
    for (const reflection::Field* field : fields_in_order(object)) {
        if (!table.CheckField(field->offset())) {
            continue;
        }
        std::string field_path = path + "." + field->name()->str();
        std::string since = field_attribute(*field, "since_minor");
        if (!since.empty() && std::strtoul(since.c_str(), nullptr, 10) > minor) {
            return Error(ErrorCode::kUnsupported,
                         "{} is from schema 1.{} and cannot be written as schema 1.{}",
                         field_path.c_str(), since.c_str(), minor);
        }
        const reflection::Type& type = *field->type();
        if (type.base_type() == reflection::Obj) {
            const reflection::Object& child =
                *schema.objects()->Get(static_cast<uint32_t>(type.index()));
            if (!child.is_struct()) {
                RELAY_TRY(check_table(schema, child, *flatbuffers::GetFieldT(table, *field), minor,
                                      field_path));
            }
        } else if (type.base_type() == reflection::Vector && type.element() == reflection::Obj) {
            const reflection::Object& child =
                *schema.objects()->Get(static_cast<uint32_t>(type.index()));
            if (child.is_struct()) {
                continue;
            }
            const flatbuffers::VectorOfAny* vector = flatbuffers::GetFieldAnyV(table, *field);
            for (size_t i = 0; i < vector->size(); ++i) {
                RELAY_TRY(check_table(
                    schema, child,
                    *flatbuffers::GetAnyVectorElemPointer<const flatbuffers::Table>(vector, i),
                    minor, field_path + "[" + std::to_string(i) + "]"));
            }
        }
    }
    return ok_status();
}

}  // namespace

Status check_fields_within_minor(const void* payload, unsigned schema_minor) {
    const StreamSchema& schema = StreamSchema::embedded();
    return check_table(schema.schema(), schema.root(),
                       *flatbuffers::GetAnyRoot(static_cast<const uint8_t*>(payload)), schema_minor,
                       "HostState");
}

}  // namespace relay::tools
