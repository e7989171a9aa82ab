// Rendering and walking FlatBuffers values through reflection, shared by relay-dump's
// diff and make: enum and bit-flag names from the schema, hex for large numbers.
#pragma once

#include <cstdint>
#include <string>

#include <flatbuffers/reflection.h>

namespace relay::tools {

// A scalar of `type` with enum type `enum_index` (-1 for none) as text: enum
// identifiers, flag names joined with '|', decimal below 10, hex above.
std::string render_scalar(const reflection::Schema& schema, reflection::BaseType type,
                          int enum_index, const uint8_t* data);

// A struct as "{a: 1, b: 0x10}".
std::string render_struct(const reflection::Schema& schema, const reflection::Object& object,
                          const uint8_t* data);

// Fields of an object in declaration (id) order.
std::vector<const reflection::Field*> fields_in_order(const reflection::Object& object);

// The value of attribute `key` on a field, or empty.
std::string field_attribute(const reflection::Field& field, const char* key);

bool is_scalar(reflection::BaseType type);

}  // namespace relay::tools
