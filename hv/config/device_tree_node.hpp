// Checked, read-only access to one node of a verified device tree (see
// device_tree_blob.hpp): typed property readers that refuse malformed values, and
// bounded iteration over properties and children. Every error names the node's path and
// the property: `/chosen/hypervisor/domU1: property "cpus": ...`.
// Compiles freestanding and hosted.
#pragma once

#include <string_view>

#include "hv/config/node_path.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

// A property's raw value; `data` points into the blob.
struct PropertyValue {
    const u8* data = nullptr;
    usize length = 0;
};

// The entries of a string-list property such as `compatible`.
struct StringList {
    static constexpr usize kCapacity = 16;
    std::string_view entries[kCapacity];
    usize count = 0;
};

// Bounds on what one node may hold; far above what a Hyperlaunch node needs, they only
// keep a hostile blob from making the walk expensive.
inline constexpr usize kMaxPropertiesPerNode = 64;
inline constexpr usize kMaxChildrenPerNode = 256;
// Property names are cut to this length in messages (a hostile name can be long).
inline constexpr usize kMaxPrintedPropertyName = 63;

class DeviceTreeNode {
public:
    // `fdt` has passed verify_device_tree_blob(); `offset` is a node offset in it.
    DeviceTreeNode(const void* fdt, int offset, const NodePath& path)
        : fdt_(fdt), offset_(offset), path_(path) {}

    const NodePath& path() const { return path_; }
    int offset() const { return offset_; }
    // The node's name, including any unit address ("module@1").
    std::string_view name() const;

    // Checks that the name is a device-tree node name Relay can keep and print: 1 to
    // kMaxNodeNameLength characters from [0-9a-zA-Z,._+-] and at most one '@'.
    Status check_name() const;

    bool has(const char* property) const;
    // Finds a property; false when the node has none of that name.
    bool find(const char* property, PropertyValue* value) const;

    // Typed readers; the property must be present (check with has()).
    Result<u32> read_u32(const char* property) const;  // exactly one cell
    Result<u64> read_u64(const char* property) const;  // exactly two cells
    Result<u32> read_u32_or(const char* property, u32 fallback) const;
    // A single NUL-terminated string of printable ASCII, at most `max_length` characters.
    Result<std::string_view> read_string(const char* property, usize max_length) const;
    // One or more non-empty printable strings.
    Status read_string_list(const char* property, StringList* list) const;

    // The child node at `child_offset` (a node offset below this node), with its path.
    DeviceTreeNode child_at(int child_offset) const;

    // Calls visit(std::string_view name, const PropertyValue&) -> Status for every
    // property, in blob order; stops at the first error.
    template <typename Visitor>
    Status for_each_property(Visitor&& visit) const;

    // Calls visit(const DeviceTreeNode& child) -> Status for every direct child.
    template <typename Visitor>
    Status for_each_child(Visitor&& visit) const;

    // Errors are built out of line: their message buffers then never sit in the frames
    // of the parse functions (the hypervisor parses on a boot stack).
    template <typename... Args>
    [[gnu::noinline, gnu::cold]] Error node_error(ErrorCode code, const char* fmt,
                                                  const Args&... args) const {
        Error error(code, fmt, args...);
        error.prefix("{}: ", path_);
        return error;
    }

    template <typename... Args>
    [[gnu::noinline, gnu::cold]] Error property_error(ErrorCode code, std::string_view property,
                                                      const char* fmt, const Args&... args) const {
        Error error(code, fmt, args...);
        char printable_name[kMaxPrintedPropertyName + 1];
        error.prefix("{}: property \"{}\": ", path_,
                     printable_copy(property, printable_name, sizeof(printable_name)));
        return error;
    }

private:
    // Property iteration and child iteration go through these libfdt wrappers, so that
    // the templates below need no libfdt header.
    int first_property() const;
    int next_property(int property_offset) const;
    bool property_at(int property_offset, std::string_view* name, PropertyValue* value) const;
    int first_child() const;
    int next_child(int child_offset) const;
    static bool is_end(int offset);
    Error iteration_error(int libfdt_result, const char* what) const;

    const void* fdt_;
    int offset_;
    NodePath path_;
};

template <typename Visitor>
Status DeviceTreeNode::for_each_property(Visitor&& visit) const {
    int property = first_property();
    for (usize count = 0; property >= 0; ++count) {
        if (count == kMaxPropertiesPerNode) {
            return node_error(ErrorCode::kOutOfRange, "more than {} properties",
                              kMaxPropertiesPerNode);
        }
        std::string_view name;
        PropertyValue value;
        if (!property_at(property, &name, &value)) {
            return iteration_error(property, "property");
        }
        RELAY_TRY(visit(name, value));
        property = next_property(property);
    }
    if (!is_end(property)) {
        return iteration_error(property, "property");
    }
    return ok_status();
}

template <typename Visitor>
Status DeviceTreeNode::for_each_child(Visitor&& visit) const {
    int child = first_child();
    for (usize count = 0; child >= 0; ++count) {
        if (count == kMaxChildrenPerNode) {
            return node_error(ErrorCode::kOutOfRange, "more than {} child nodes",
                              kMaxChildrenPerNode);
        }
        RELAY_TRY(visit(child_at(child)));
        child = next_child(child);
    }
    if (!is_end(child)) {
        return iteration_error(child, "child node");
    }
    return ok_status();
}

}  // namespace relay::hyperlaunch
