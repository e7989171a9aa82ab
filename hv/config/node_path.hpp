// The path of a device-tree node, kept while walking down the tree so that every error
// can name the node it is about ("/chosen/hypervisor/domU1: ..."). Fixed capacity; a
// path that does not fit ends in "..." rather than failing. Bytes that are not printable
// ASCII are shown as '?', so a hostile node name cannot garble a console.
// Compiles freestanding and hosted.
#pragma once

#include <string_view>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

class NodePath {
public:
    static constexpr usize kCapacity = 159;

    NodePath() = default;
    explicit NodePath(std::string_view absolute_path) { append(absolute_path); }

    // The path of child `name` of this node.
    NodePath child(std::string_view name) const;

    std::string_view view() const { return std::string_view(text_, length_); }

private:
    void append(std::string_view text);

    char text_[kCapacity + 1] = {};
    usize length_ = 0;
};

inline FormatArg format_arg(const NodePath& path) {
    return relay::format_arg(path.view());
}

// True for the bytes Relay prints from a device tree as they are (printable ASCII).
constexpr bool is_printable_ascii(char c) {
    return c >= 0x20 && c <= 0x7E;
}

// Copies `text` into buffer[0..capacity) with bytes that are not printable ASCII shown
// as '?', cut to capacity - 1 characters; returns the copy.
std::string_view printable_copy(std::string_view text, char* buffer, usize capacity);

}  // namespace relay::hyperlaunch
