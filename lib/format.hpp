// Type-safe text formatting without heap or libc: "{}" placeholders with an optional
// spec "{:[#][0][width][x|X|d|c|s]}". Used by the console, error messages and tools.
// Compiles freestanding and hosted.
#pragma once

#include <string_view>
#include <type_traits>

#include "lib/types.hpp"

namespace relay {

struct FormatArg {
    enum class Kind : u8 { kSigned, kUnsigned, kBool, kChar, kString };
    Kind kind = Kind::kUnsigned;
    bool prefer_hex = false;  // addresses print as 0x... when the spec names no type
    union {
        u64 unsigned_value;
        i64 signed_value;
        struct {
            const char* data;
            usize length;
        } string;
    };
    FormatArg() : unsigned_value(0) {}
};

// Conversions for built-in types. User types provide `FormatArg format_arg(const T&)`
// in their namespace (found by argument-dependent lookup).
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>) FormatArg
    format_arg(T value) {
    FormatArg arg;
    if constexpr (std::is_signed_v<T>) {
        arg.kind = FormatArg::Kind::kSigned;
        arg.signed_value = value;
    } else {
        arg.kind = FormatArg::Kind::kUnsigned;
        arg.unsigned_value = value;
    }
    return arg;
}

template <typename T>
requires std::is_enum_v<T> FormatArg format_arg(T value) {
    return format_arg(static_cast<std::underlying_type_t<T>>(value));
}

inline FormatArg format_arg(bool value) {
    FormatArg arg;
    arg.kind = FormatArg::Kind::kBool;
    arg.unsigned_value = value ? 1 : 0;
    return arg;
}

inline FormatArg format_arg(char value) {
    FormatArg arg;
    arg.kind = FormatArg::Kind::kChar;
    arg.unsigned_value = static_cast<u8>(value);
    return arg;
}

inline FormatArg format_arg(std::string_view value) {
    FormatArg arg;
    arg.kind = FormatArg::Kind::kString;
    arg.string.data = value.data();
    arg.string.length = value.size();
    return arg;
}

inline FormatArg format_arg(const char* value) {
    return format_arg(value != nullptr ? std::string_view(value) : std::string_view("(null)"));
}

inline FormatArg format_arg(char* value) {
    return format_arg(static_cast<const char*>(value));
}

inline FormatArg format_arg(const void* value) {
    FormatArg arg;
    arg.kind = FormatArg::Kind::kUnsigned;
    arg.prefer_hex = true;
    arg.unsigned_value = reinterpret_cast<uptr>(value);
    return arg;
}

// Where formatted text goes. Implementations: FormatBuffer (fixed memory), the
// hypervisor console, host tools' stdio.
class FormatOutput {
public:
    virtual void write(const char* data, usize length) = 0;

protected:
    ~FormatOutput() = default;
};

// Formats into a fixed buffer; output beyond the capacity is dropped and the result is
// always NUL-terminated.
class FormatBuffer final : public FormatOutput {
public:
    FormatBuffer(char* data, usize capacity) : data_(data), capacity_(capacity) {
        if (capacity_ > 0) {
            data_[0] = '\0';
        }
    }
    void write(const char* data, usize length) override;
    usize length() const { return length_; }
    bool truncated() const { return truncated_; }
    std::string_view view() const { return std::string_view(data_, length_); }

private:
    char* data_;
    usize capacity_;
    usize length_ = 0;
    bool truncated_ = false;
};

void vformat(FormatOutput& output, const char* fmt, const FormatArg* args, usize count);

template <typename... Args>
void format(FormatOutput& output, const char* fmt, const Args&... args) {
    if constexpr (sizeof...(Args) == 0) {
        vformat(output, fmt, nullptr, 0);
    } else {
        const FormatArg converted[] = {format_arg(args)...};
        vformat(output, fmt, converted, sizeof...(Args));
    }
}

// Formats into buffer[0..capacity), NUL-terminated; returns the length written.
template <typename... Args>
usize format_to_buffer(char* buffer, usize capacity, const char* fmt, const Args&... args) {
    FormatBuffer output(buffer, capacity);
    format(output, fmt, args...);
    return output.length();
}

// A string of fixed capacity that can be formatted into.
template <usize Capacity>
class FixedString {
public:
    FixedString() { data_[0] = '\0'; }
    template <typename... Args>
    static FixedString formatted(const char* fmt, const Args&... args) {
        FixedString result;
        result.length_ = format_to_buffer(result.data_, Capacity + 1, fmt, args...);
        return result;
    }
    const char* c_str() const { return data_; }
    usize length() const { return length_; }
    std::string_view view() const { return std::string_view(data_, length_); }

private:
    char data_[Capacity + 1];
    usize length_ = 0;
};

}  // namespace relay
