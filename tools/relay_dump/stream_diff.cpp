#include "tools/relay_dump/stream_diff.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

#include "migration_stream/features.hpp"
#include "tools/relay_dump/reflection_values.hpp"
#include "tools/relay_dump/stream_json.hpp"

namespace relay::tools {
namespace {

using flatbuffers::Table;
using flatbuffers::VectorOfAny;

// The field that identifies an element of a vector of tables, per table type.
struct Identity {
    const char* table;
    const char* field;
};
constexpr Identity kIdentities[] = {
    {"relay.schema.Domain", "domid"},
    {"relay.schema.Vcpu", "id"},
    {"relay.schema.UpdateRecord", "sequence"},
    {"relay.schema.BootModule", "index"},
    {"relay.schema.IommuDeviceAssignment", "bdf"},
};

// A long run of changed bytes is summarised, not listed.
constexpr size_t kMaxListedElements = 16;

class PayloadDiff {
public:
    PayloadDiff(const reflection::Schema& schema, std::vector<std::string>& lines)
        : schema_(schema), lines_(lines) {}

    void table(const reflection::Object& object, const Table* a, const Table* b,
               const std::string& path) {
        for (const reflection::Field* field : fields_in_order(object)) {
            if (field->deprecated()) {
                continue;
            }
            field_difference(*field, a, b, join(path, field->name()->str()));
        }
    }

private:
    static std::string join(const std::string& path, const std::string& name) {
        return path.empty() ? name : path + "." + name;
    }

    const reflection::Object& object_at(int index) const {
        return *schema_.objects()->Get(static_cast<uint32_t>(index));
    }

    void add(const std::string& path, const std::string& before, const std::string& after) {
        lines_.push_back(path + ": " + before + " -> " + after);
    }

    void field_difference(const reflection::Field& field, const Table* a, const Table* b,
                          const std::string& path) {
        const reflection::Type& type = *field.type();
        switch (type.base_type()) {
            case reflection::String: {
                auto* x = a ? flatbuffers::GetFieldS(*a, field) : nullptr;
                auto* y = b ? flatbuffers::GetFieldS(*b, field) : nullptr;
                std::string sx = x ? "\"" + x->str() + "\"" : "(absent)";
                std::string sy = y ? "\"" + y->str() + "\"" : "(absent)";
                if (sx != sy) {
                    add(path, sx, sy);
                }
                return;
            }
            case reflection::Obj: {
                const reflection::Object& object = object_at(type.index());
                if (object.is_struct()) {
                    const uint8_t* x = a ? a->GetStruct<const uint8_t*>(field.offset()) : nullptr;
                    const uint8_t* y = b ? b->GetStruct<const uint8_t*>(field.offset()) : nullptr;
                    struct_difference(object, x, y, path);
                    return;
                }
                const Table* x = a ? flatbuffers::GetFieldT(*a, field) : nullptr;
                const Table* y = b ? flatbuffers::GetFieldT(*b, field) : nullptr;
                if (x == nullptr && y == nullptr) {
                    return;
                }
                if (x == nullptr || y == nullptr) {
                    add(path, x ? "present" : "(absent)", y ? "present" : "(absent)");
                }
                table(object, x, y, path);
                return;
            }
            case reflection::Vector: {
                const VectorOfAny* x = a ? flatbuffers::GetFieldAnyV(*a, field) : nullptr;
                const VectorOfAny* y = b ? flatbuffers::GetFieldAnyV(*b, field) : nullptr;
                vector_difference(type, x, y, path);
                return;
            }
            default:
                break;
        }
        if (!is_scalar(type.base_type())) {
            return;
        }
        // Absent scalars read as their default, like the generated accessors.
        std::string x = a ? scalar_text(*a, field) : "(absent)";
        std::string y = b ? scalar_text(*b, field) : "(absent)";
        if (x != y && a != nullptr && b != nullptr) {
            add(path, x, y);
        }
    }

    std::string scalar_text(const Table& table, const reflection::Field& field) const {
        const uint8_t* data = table.GetAddressOf(field.offset());
        const reflection::Type& type = *field.type();
        if (data != nullptr) {
            return render_scalar(schema_, type.base_type(), type.index(), data);
        }
        if (type.base_type() == reflection::Float || type.base_type() == reflection::Double) {
            double value = field.default_real();
            uint8_t bytes[8];
            std::memcpy(bytes, &value, sizeof(value));
            return render_scalar(schema_, reflection::Double, -1, bytes);
        }
        int64_t value = field.default_integer();
        uint8_t bytes[8];
        std::memcpy(bytes, &value, sizeof(value));
        // Little-endian host: the low bytes of the int64 are the narrower value.
        return render_scalar(schema_, type.base_type(), type.index(), bytes);
    }

    void struct_difference(const reflection::Object& object, const uint8_t* x, const uint8_t* y,
                           const std::string& path) {
        if (x == nullptr && y == nullptr) {
            return;
        }
        if (x == nullptr || y == nullptr) {
            add(path, x ? render_struct(schema_, object, x) : "(absent)",
                y ? render_struct(schema_, object, y) : "(absent)");
            return;
        }
        if (std::memcmp(x, y, static_cast<size_t>(object.bytesize())) == 0) {
            return;
        }
        // Name the changed members of a struct (segment base, one GPR, ...).
        for (const reflection::Field* member : fields_in_order(object)) {
            const reflection::Type& type = *member->type();
            size_t size = type.base_type() == reflection::Obj
                              ? static_cast<size_t>(object_at(type.index()).bytesize())
                          : type.base_type() == reflection::Array
                              ? flatbuffers::GetTypeSize(type.element()) * type.fixed_length()
                              : flatbuffers::GetTypeSize(type.base_type());
            const uint8_t* mx = x + member->offset();
            const uint8_t* my = y + member->offset();
            if (std::memcmp(mx, my, size) == 0) {
                continue;
            }
            std::string member_path = join(path, member->name()->str());
            if (is_scalar(type.base_type())) {
                add(member_path, render_scalar(schema_, type.base_type(), type.index(), mx),
                    render_scalar(schema_, type.base_type(), type.index(), my));
            } else if (type.base_type() == reflection::Obj) {
                struct_difference(object_at(type.index()), mx, my, member_path);
            } else {
                add(path, render_struct(schema_, object, x), render_struct(schema_, object, y));
                return;
            }
        }
    }

    // The identity field of a table type, if it has one.
    const reflection::Field* identity(const reflection::Object& object) const {
        for (const Identity& identity : kIdentities) {
            if (object.name()->str() != identity.table) {
                continue;
            }
            const reflection::Field* field = object.fields()->LookupByKey(identity.field);
            if (field != nullptr && is_scalar(field->type()->base_type())) {
                return field;
            }
        }
        return nullptr;
    }

    void vector_difference(const reflection::Type& type, const VectorOfAny* x, const VectorOfAny* y,
                           const std::string& path) {
        size_t nx = x ? x->size() : 0;
        size_t ny = y ? y->size() : 0;
        reflection::BaseType element = type.element();
        if (element == reflection::Obj) {
            const reflection::Object& object = object_at(type.index());
            if (!object.is_struct()) {
                table_vector_difference(object, x, y, path);
                return;
            }
            size_t size = static_cast<size_t>(object.bytesize());
            size_t listed = 0;
            for (size_t i = 0; i < std::min(nx, ny); ++i) {
                const uint8_t* ex =
                    flatbuffers::GetAnyVectorElemAddressOf<const uint8_t>(x, i, size);
                const uint8_t* ey =
                    flatbuffers::GetAnyVectorElemAddressOf<const uint8_t>(y, i, size);
                if (std::memcmp(ex, ey, size) != 0 && listed++ < kMaxListedElements) {
                    add(path + "[" + std::to_string(i) + "]", render_struct(schema_, object, ex),
                        render_struct(schema_, object, ey));
                }
            }
            for (size_t i = ny; i < nx && listed++ < kMaxListedElements; ++i) {
                lines_.push_back(
                    path + "[" + std::to_string(i) + "]: removed " +
                    render_struct(
                        schema_, object,
                        flatbuffers::GetAnyVectorElemAddressOf<const uint8_t>(x, i, size)));
            }
            for (size_t i = nx; i < ny && listed++ < kMaxListedElements; ++i) {
                lines_.push_back(
                    path + "[" + std::to_string(i) + "]: added " +
                    render_struct(
                        schema_, object,
                        flatbuffers::GetAnyVectorElemAddressOf<const uint8_t>(y, i, size)));
            }
            if (listed > kMaxListedElements) {
                lines_.push_back(path + ": " + std::to_string(listed - kMaxListedElements) +
                                 " more changed elements");
            }
            if (nx != ny) {
                add(path + " (count)", std::to_string(nx), std::to_string(ny));
            }
            return;
        }
        if (is_scalar(element)) {
            size_t size = flatbuffers::GetTypeSize(element);
            size_t changed = 0;
            for (size_t i = 0; i < std::min(nx, ny); ++i) {
                if (std::memcmp(x->Data() + i * size, y->Data() + i * size, size) != 0) {
                    ++changed;
                }
            }
            if (nx != ny) {
                add(path, std::to_string(nx) + " elements", std::to_string(ny) + " elements");
            } else if (changed > 0) {
                lines_.push_back(path + ": " + std::to_string(changed) + " of " +
                                 std::to_string(nx) + " elements changed");
            }
            return;
        }
        if (element == reflection::String) {
            for (size_t i = 0; i < std::max(nx, ny); ++i) {
                std::string sx =
                    i < nx ? flatbuffers::GetAnyVectorElemPointer<const flatbuffers::String>(x, i)
                                 ->str()
                           : "(absent)";
                std::string sy =
                    i < ny ? flatbuffers::GetAnyVectorElemPointer<const flatbuffers::String>(y, i)
                                 ->str()
                           : "(absent)";
                if (sx != sy) {
                    add(path + "[" + std::to_string(i) + "]", sx, sy);
                }
            }
        }
    }

    std::string element_name(const reflection::Field* key, const Table* element,
                             size_t index) const {
        if (key == nullptr) {
            return "[" + std::to_string(index) + "]";
        }
        return "[" + key->name()->str() + "=" +
               std::to_string(flatbuffers::GetAnyFieldI(*element, *key)) + "]";
    }

    void table_vector_difference(const reflection::Object& object, const VectorOfAny* x,
                                 const VectorOfAny* y, const std::string& path) {
        size_t nx = x ? x->size() : 0;
        size_t ny = y ? y->size() : 0;
        const reflection::Field* key = identity(object);
        if (key == nullptr) {
            for (size_t i = 0; i < std::max(nx, ny); ++i) {
                const Table* ex =
                    i < nx ? flatbuffers::GetAnyVectorElemPointer<const Table>(x, i) : nullptr;
                const Table* ey =
                    i < ny ? flatbuffers::GetAnyVectorElemPointer<const Table>(y, i) : nullptr;
                std::string element_path = path + "[" + std::to_string(i) + "]";
                if (ex == nullptr || ey == nullptr) {
                    lines_.push_back(element_path + (ex ? ": removed" : ": added"));
                    continue;
                }
                table(object, ex, ey, element_path);
            }
            return;
        }
        std::map<int64_t, const Table*> before;
        std::map<int64_t, const Table*> after;
        for (size_t i = 0; i < nx; ++i) {
            const Table* e = flatbuffers::GetAnyVectorElemPointer<const Table>(x, i);
            before[flatbuffers::GetAnyFieldI(*e, *key)] = e;
        }
        for (size_t i = 0; i < ny; ++i) {
            const Table* e = flatbuffers::GetAnyVectorElemPointer<const Table>(y, i);
            after[flatbuffers::GetAnyFieldI(*e, *key)] = e;
        }
        for (const auto& [id, element] : before) {
            if (after.count(id) == 0) {
                lines_.push_back(path + ": removed " + describe(object, *key, element));
            }
        }
        for (const auto& [id, element] : after) {
            if (before.count(id) == 0) {
                lines_.push_back(path + ": added " + describe(object, *key, element));
            }
        }
        for (const auto& [id, element] : before) {
            auto match = after.find(id);
            if (match != after.end()) {
                table(object, element, match->second,
                      path + "[" + key->name()->str() + "=" + std::to_string(id) + "]");
            }
        }
    }

    // "domid=3 name=\"web\"" for added/removed elements.
    std::string describe(const reflection::Object& object, const reflection::Field& key,
                         const Table* element) const {
        std::string text =
            key.name()->str() + "=" + std::to_string(flatbuffers::GetAnyFieldI(*element, key));
        const reflection::Field* name = object.fields()->LookupByKey("name");
        if (name != nullptr && name->type()->base_type() == reflection::String) {
            const flatbuffers::String* value = flatbuffers::GetFieldS(*element, *name);
            if (value != nullptr) {
                text += " name=\"" + value->str() + "\"";
            }
        }
        return text;
    }

    const reflection::Schema& schema_;
    std::vector<std::string>& lines_;
};

std::string hex_bytes(const uint8_t* bytes, size_t size) {
    std::string text;
    char byte[4];
    for (size_t i = 0; i < size; ++i) {
        std::snprintf(byte, sizeof(byte), "%02x", bytes[i]);
        text += byte;
    }
    return text;
}

std::string feature_names(stream::FeatureClass feature_class, uint64_t bits) {
    std::string text;
    for (uint8_t bit = 0; bit < 64; ++bit) {
        if ((bits & (uint64_t{1} << bit)) == 0) {
            continue;
        }
        const stream::FeatureInfo* info = stream::find_feature(feature_class, bit);
        text += (text.empty() ? "" : ",") +
                (info ? std::string(info->name) : "bit " + std::to_string(bit));
    }
    return text.empty() ? "none" : text;
}

}  // namespace

std::vector<std::string> diff_streams(const stream::VerifiedStream& before,
                                      const stream::VerifiedStream& after) {
    std::vector<std::string> lines;
    const stream::StreamHeader& a = before.header();
    const stream::StreamHeader& b = after.header();
    auto header = [&](const char* field, const std::string& x, const std::string& y) {
        if (x != y) {
            lines.push_back(std::string("header.") + field + ": " + x + " -> " + y);
        }
    };
    header("kind", stream::stream_kind_name(a.kind), stream::stream_kind_name(b.kind));
    header("schema", std::to_string(a.schema_major) + "." + std::to_string(a.schema_minor),
           std::to_string(b.schema_major) + "." + std::to_string(b.schema_minor));
    header("required_features", feature_names(stream::FeatureClass::kRequired, a.required_features),
           feature_names(stream::FeatureClass::kRequired, b.required_features));
    header("optional_features", feature_names(stream::FeatureClass::kOptional, a.optional_features),
           feature_names(stream::FeatureClass::kOptional, b.optional_features));
    header("producer_build", hex_bytes(a.producer_build.bytes, stream::kBuildIdBytes),
           hex_bytes(b.producer_build.bytes, stream::kBuildIdBytes));
    header("payload_size", std::to_string(a.payload_size), std::to_string(b.payload_size));

    const StreamSchema& schema = StreamSchema::embedded();
    PayloadDiff diff(schema.schema(), lines);
    diff.table(schema.root(), flatbuffers::GetAnyRoot(before.payload()),
               flatbuffers::GetAnyRoot(after.payload()), "");
    return lines;
}

}  // namespace relay::tools
