#include "hv/config/device_tree_node.hpp"

#include <libfdt.h>

#include "hv/config/big_endian.hpp"
#include "hv/config/hyperlaunch_config.hpp"

namespace relay::hyperlaunch {
namespace {

constexpr usize kCellSize = 4;

// Devicetree Specification v0.4 §2.2.1, Table 2.1: characters of a node name.
bool is_node_name_character(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ',' ||
           c == '.' || c == '_' || c == '+' || c == '-';
}

}  // namespace

std::string_view DeviceTreeNode::name() const {
    int length = 0;
    const char* name = fdt_get_name(fdt_, offset_, &length);
    if (name == nullptr || length < 0) {
        return std::string_view();
    }
    return std::string_view(name, static_cast<usize>(length));
}

Status DeviceTreeNode::check_name() const {
    std::string_view text = name();
    if (text.empty() || text.size() > kMaxNodeNameLength) {
        return node_error(ErrorCode::kInvalidArgument,
                          "node name is {} characters; Relay keeps names of 1 to {}", text.size(),
                          kMaxNodeNameLength);
    }
    usize at_signs = 0;
    for (usize i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '@') {
            ++at_signs;
            // The unit address after '@' may not be empty, and the name before it neither.
            if (at_signs > 1 || i == 0 || i + 1 == text.size()) {
                return node_error(ErrorCode::kInvalidArgument,
                                  "node name is not of the form name[@unit-address]");
            }
            continue;
        }
        if (!is_node_name_character(c)) {
            return node_error(ErrorCode::kInvalidArgument,
                              "node name contains byte {:#04x} at offset {}, which a device "
                              "tree node name cannot hold",
                              static_cast<u8>(c), i);
        }
    }
    return ok_status();
}

bool DeviceTreeNode::has(const char* property) const {
    PropertyValue value;
    return find(property, &value);
}

bool DeviceTreeNode::find(const char* property, PropertyValue* value) const {
    int length = 0;
    const void* data = fdt_getprop(fdt_, offset_, property, &length);
    if (data == nullptr || length < 0) {
        return false;
    }
    value->data = static_cast<const u8*>(data);
    value->length = static_cast<usize>(length);
    return true;
}

Result<u32> DeviceTreeNode::read_u32(const char* property) const {
    PropertyValue value;
    if (!find(property, &value)) {
        return property_error(ErrorCode::kNotFound, property, "missing");
    }
    if (value.length != kCellSize) {
        return property_error(ErrorCode::kInvalidArgument, property,
                              "is {} bytes; expected 1 cell (4 bytes)", value.length);
    }
    return load_big_endian_u32(value.data);
}

Result<u64> DeviceTreeNode::read_u64(const char* property) const {
    PropertyValue value;
    if (!find(property, &value)) {
        return property_error(ErrorCode::kNotFound, property, "missing");
    }
    if (value.length != 2 * kCellSize) {
        return property_error(ErrorCode::kInvalidArgument, property,
                              "is {} bytes; expected 2 cells (8 bytes)", value.length);
    }
    u64 high = load_big_endian_u32(value.data);
    u64 low = load_big_endian_u32(value.data + kCellSize);
    return (high << 32) | low;
}

Result<u32> DeviceTreeNode::read_u32_or(const char* property, u32 fallback) const {
    if (!has(property)) {
        return fallback;
    }
    return read_u32(property);
}

Result<std::string_view> DeviceTreeNode::read_string(const char* property, usize max_length) const {
    PropertyValue value;
    if (!find(property, &value)) {
        return property_error(ErrorCode::kNotFound, property, "missing");
    }
    if (value.length == 0) {
        return property_error(ErrorCode::kInvalidArgument, property, "is empty; expected a string");
    }
    const char* text = reinterpret_cast<const char*>(value.data);
    if (text[value.length - 1] != '\0') {
        return property_error(ErrorCode::kInvalidArgument, property,
                              "is not a NUL-terminated string");
    }
    usize length = value.length - 1;
    for (usize i = 0; i < length; ++i) {
        if (text[i] == '\0') {
            return property_error(ErrorCode::kInvalidArgument, property,
                                  "holds several strings; expected one");
        }
        if (!is_printable_ascii(text[i])) {
            return property_error(ErrorCode::kInvalidArgument, property,
                                  "contains byte {:#04x} at offset {}; only printable ASCII "
                                  "is allowed",
                                  static_cast<u8>(text[i]), i);
        }
    }
    if (length > max_length) {
        return property_error(ErrorCode::kOutOfRange, property,
                              "is {} characters long; at most {} are allowed", length, max_length);
    }
    return std::string_view(text, length);
}

Status DeviceTreeNode::read_string_list(const char* property, StringList* list) const {
    PropertyValue value;
    if (!find(property, &value)) {
        return property_error(ErrorCode::kNotFound, property, "missing");
    }
    if (value.length == 0) {
        return property_error(ErrorCode::kInvalidArgument, property,
                              "is empty; expected a list of strings");
    }
    const char* text = reinterpret_cast<const char*>(value.data);
    if (text[value.length - 1] != '\0') {
        return property_error(ErrorCode::kInvalidArgument, property,
                              "is not a list of NUL-terminated strings");
    }
    *list = StringList{};
    usize start = 0;
    for (usize i = 0; i < value.length; ++i) {
        if (text[i] != '\0') {
            if (!is_printable_ascii(text[i])) {
                return property_error(ErrorCode::kInvalidArgument, property,
                                      "contains byte {:#04x} at offset {}; only printable "
                                      "ASCII is allowed",
                                      static_cast<u8>(text[i]), i);
            }
            continue;
        }
        if (i == start) {
            return property_error(ErrorCode::kInvalidArgument, property,
                                  "contains an empty string at offset {}", i);
        }
        if (list->count == StringList::kCapacity) {
            return property_error(ErrorCode::kOutOfRange, property, "lists more than {} strings",
                                  StringList::kCapacity);
        }
        list->entries[list->count++] = std::string_view(text + start, i - start);
        start = i + 1;
    }
    return ok_status();
}

int DeviceTreeNode::first_property() const {
    return fdt_first_property_offset(fdt_, offset_);
}

int DeviceTreeNode::next_property(int property_offset) const {
    return fdt_next_property_offset(fdt_, property_offset);
}

bool DeviceTreeNode::property_at(int property_offset, std::string_view* name,
                                 PropertyValue* value) const {
    const char* name_text = nullptr;
    int length = 0;
    const void* data = fdt_getprop_by_offset(fdt_, property_offset, &name_text, &length);
    if (data == nullptr || name_text == nullptr || length < 0) {
        return false;
    }
    // verify_device_tree_blob() has checked that the name is terminated in the blob.
    usize name_length = 0;
    while (name_text[name_length] != '\0') {
        ++name_length;
    }
    *name = std::string_view(name_text, name_length);
    value->data = static_cast<const u8*>(data);
    value->length = static_cast<usize>(length);
    return true;
}

int DeviceTreeNode::first_child() const {
    return fdt_first_subnode(fdt_, offset_);
}

int DeviceTreeNode::next_child(int child_offset) const {
    return fdt_next_subnode(fdt_, child_offset);
}

DeviceTreeNode DeviceTreeNode::child_at(int child_offset) const {
    DeviceTreeNode child(fdt_, child_offset, path_);
    child.path_ = path_.child(child.name());
    return child;
}

bool DeviceTreeNode::is_end(int offset) {
    return offset == -FDT_ERR_NOTFOUND;
}

Error DeviceTreeNode::iteration_error(int libfdt_result, const char* what) const {
    return node_error(ErrorCode::kCorrupt, "cannot read {}: libfdt: {}", what,
                      libfdt_result < 0 ? fdt_strerror(libfdt_result) : "bad offset");
}

}  // namespace relay::hyperlaunch
