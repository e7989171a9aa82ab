#include "tools/relay_dump/reflection_values.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

namespace relay::tools {

bool is_scalar(reflection::BaseType type) {
    return type >= reflection::Bool && type <= reflection::Double;
}

namespace {

std::string number(int64_t value, reflection::BaseType type) {
    char text[32];
    bool is_unsigned = type == reflection::UByte || type == reflection::UShort ||
                       type == reflection::UInt || type == reflection::ULong;
    if (type == reflection::Bool) {
        return value != 0 ? "true" : "false";
    }
    if (is_unsigned || value >= 0) {
        uint64_t magnitude = static_cast<uint64_t>(value);
        if (magnitude < 10) {
            std::snprintf(text, sizeof(text), "%" PRIu64, magnitude);
        } else {
            std::snprintf(text, sizeof(text), "0x%" PRIx64, magnitude);
        }
    } else {
        std::snprintf(text, sizeof(text), "%" PRId64, value);
    }
    return text;
}

bool enum_is_bit_flags(const reflection::Enum& enumeration) {
    if (enumeration.attributes() == nullptr) {
        return false;
    }
    for (const reflection::KeyValue* attribute : *enumeration.attributes()) {
        if (attribute->key()->str() == "bit_flags") {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string render_scalar(const reflection::Schema& schema, reflection::BaseType type,
                          int enum_index, const uint8_t* data) {
    if (type == reflection::Float || type == reflection::Double) {
        char text[48];
        std::snprintf(text, sizeof(text), "%g", flatbuffers::GetAnyValueF(type, data));
        return text;
    }
    int64_t value = flatbuffers::GetAnyValueI(type, data);
    if (enum_index < 0 || schema.enums() == nullptr ||
        static_cast<uint32_t>(enum_index) >= schema.enums()->size()) {
        return number(value, type);
    }
    const reflection::Enum& enumeration = *schema.enums()->Get(static_cast<uint32_t>(enum_index));
    if (enum_is_bit_flags(enumeration)) {
        uint64_t remaining = static_cast<uint64_t>(value);
        std::string text;
        for (const reflection::EnumVal* candidate : *enumeration.values()) {
            uint64_t bit = static_cast<uint64_t>(candidate->value());
            if (bit != 0 && (remaining & bit) == bit) {
                text += (text.empty() ? "" : "|") + candidate->name()->str();
                remaining &= ~bit;
            }
        }
        if (remaining != 0) {
            text += (text.empty() ? "" : "|") + number(static_cast<int64_t>(remaining), type);
        }
        return text.empty() ? "none" : text;
    }
    for (const reflection::EnumVal* candidate : *enumeration.values()) {
        if (candidate->value() == value) {
            return candidate->name()->str();
        }
    }
    return number(value, type) + " (unknown)";
}

std::string render_struct(const reflection::Schema& schema, const reflection::Object& object,
                          const uint8_t* data) {
    std::string text = "{";
    bool first = true;
    for (const reflection::Field* field : fields_in_order(object)) {
        text += first ? "" : ", ";
        first = false;
        text += field->name()->str() + ": ";
        const reflection::Type& type = *field->type();
        const uint8_t* value = data + field->offset();
        if (is_scalar(type.base_type())) {
            text += render_scalar(schema, type.base_type(), type.index(), value);
        } else if (type.base_type() == reflection::Array && is_scalar(type.element())) {
            std::string items;
            size_t size = flatbuffers::GetTypeSize(type.element());
            bool hex_bytes = size == 1;
            for (uint16_t i = 0; i < type.fixed_length(); ++i) {
                if (hex_bytes) {
                    char byte[4];
                    std::snprintf(byte, sizeof(byte), "%02x", value[i]);
                    items += byte;
                } else {
                    items += (i == 0 ? "" : " ") +
                             render_scalar(schema, type.element(), -1, value + i * size);
                }
            }
            text += hex_bytes ? items : "[" + items + "]";
        } else if (type.base_type() == reflection::Obj) {
            text += render_struct(
                schema, *schema.objects()->Get(static_cast<uint32_t>(type.index())), value);
        } else {
            text += "?";
        }
    }
    return text + "}";
}

std::vector<const reflection::Field*> fields_in_order(const reflection::Object& object) {
    std::vector<const reflection::Field*> fields(object.fields()->begin(), object.fields()->end());
    std::sort(
        fields.begin(), fields.end(),
        [](const reflection::Field* a, const reflection::Field* b) { return a->id() < b->id(); });
    return fields;
}

std::string field_attribute(const reflection::Field& field, const char* key) {
    if (field.attributes() == nullptr) {
        return "";
    }
    for (const reflection::KeyValue* attribute : *field.attributes()) {
        if (attribute->key()->str() == key) {
            return attribute->value() != nullptr ? attribute->value()->str() : "";
        }
    }
    return "";
}

}  // namespace relay::tools
