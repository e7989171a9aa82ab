#include "hv/config/node_path.hpp"

namespace relay::hyperlaunch {

namespace {
constexpr std::string_view kEllipsis = "...";
}

NodePath NodePath::child(std::string_view name) const {
    NodePath result = *this;
    if (result.length_ == 0 || result.text_[result.length_ - 1] != '/') {
        result.append("/");
    }
    result.append(name);
    return result;
}

void NodePath::append(std::string_view text) {
    for (char c : text) {
        if (length_ == kCapacity) {
            // Mark the cut: the last characters become "...".
            for (usize i = 0; i < kEllipsis.size(); ++i) {
                text_[kCapacity - kEllipsis.size() + i] = kEllipsis[i];
            }
            return;
        }
        text_[length_++] = is_printable_ascii(c) ? c : '?';
    }
    text_[length_] = '\0';
}

std::string_view printable_copy(std::string_view text, char* buffer, usize capacity) {
    if (capacity == 0) {
        return std::string_view();
    }
    usize length = 0;
    for (char c : text) {
        if (length + 1 == capacity) {
            break;
        }
        buffer[length++] = is_printable_ascii(c) ? c : '?';
    }
    buffer[length] = '\0';
    return std::string_view(buffer, length);
}

}  // namespace relay::hyperlaunch
