#include "lib/format.hpp"

namespace relay {

void FormatBuffer::write(const char* data, usize length) {
    if (capacity_ == 0) {
        truncated_ = truncated_ || length > 0;
        return;
    }
    usize room = capacity_ - 1 - length_;
    usize count = length < room ? length : room;
    for (usize i = 0; i < count; ++i) {
        data_[length_ + i] = data[i];
    }
    length_ += count;
    data_[length_] = '\0';
    if (count < length) {
        truncated_ = true;
    }
}

namespace {

struct Spec {
    bool alternate = false;
    bool zero_pad = false;
    usize width = 0;
    char type = 0;  // 0, 'x', 'X', 'd', 'c', 's'
};

void pad(FormatOutput& output, char fill, usize count) {
    char block[16];
    for (char& c : block) {
        c = fill;
    }
    while (count > 0) {
        usize chunk = count < sizeof(block) ? count : sizeof(block);
        output.write(block, chunk);
        count -= chunk;
    }
}

// Writes `body` right-aligned in the spec's width; zero padding goes after the prefix.
void emit(FormatOutput& output, const Spec& spec, std::string_view prefix, std::string_view body) {
    usize total = prefix.size() + body.size();
    usize padding = spec.width > total ? spec.width - total : 0;
    if (spec.zero_pad) {
        output.write(prefix.data(), prefix.size());
        pad(output, '0', padding);
    } else {
        pad(output, ' ', padding);
        output.write(prefix.data(), prefix.size());
    }
    output.write(body.data(), body.size());
}

void emit_unsigned(FormatOutput& output, const Spec& spec, u64 value, bool negative, bool hex,
                   bool upper) {
    char digits[24];
    usize position = sizeof(digits);
    const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    u64 base = hex ? 16 : 10;
    do {
        digits[--position] = alphabet[value % base];
        value /= base;
    } while (value != 0);
    std::string_view prefix = negative ? "-" : "";
    if (hex && spec.alternate) {
        prefix = "0x";
    }
    emit(output, spec, prefix, std::string_view(digits + position, sizeof(digits) - position));
}

void emit_arg(FormatOutput& output, const Spec& spec, const FormatArg& arg) {
    bool hex = spec.type == 'x' || spec.type == 'X';
    switch (arg.kind) {
        case FormatArg::Kind::kString:
            emit(output, spec, "", std::string_view(arg.string.data, arg.string.length));
            return;
        case FormatArg::Kind::kBool:
            emit(output, spec, "", arg.unsigned_value != 0 ? "true" : "false");
            return;
        case FormatArg::Kind::kChar: {
            if (spec.type == 'd' || hex) {
                emit_unsigned(output, spec, arg.unsigned_value, false, hex, spec.type == 'X');
                return;
            }
            char c = static_cast<char>(arg.unsigned_value);
            emit(output, spec, "", std::string_view(&c, 1));
            return;
        }
        case FormatArg::Kind::kSigned: {
            if (hex) {
                emit_unsigned(output, spec, static_cast<u64>(arg.signed_value), false, true,
                              spec.type == 'X');
                return;
            }
            i64 value = arg.signed_value;
            u64 magnitude = value < 0 ? 0 - static_cast<u64>(value) : static_cast<u64>(value);
            emit_unsigned(output, spec, magnitude, value < 0, false, false);
            return;
        }
        case FormatArg::Kind::kUnsigned: {
            if (spec.type == 'c') {
                char c = static_cast<char>(arg.unsigned_value);
                emit(output, spec, "", std::string_view(&c, 1));
                return;
            }
            if (spec.type == 0 && arg.prefer_hex) {
                Spec address_spec = spec;
                address_spec.alternate = true;
                emit_unsigned(output, address_spec, arg.unsigned_value, false, true, false);
                return;
            }
            emit_unsigned(output, spec, arg.unsigned_value, false, hex, spec.type == 'X');
            return;
        }
    }
}

// Parses "[#][0][width][type]" between ':' and '}'. Returns false on a malformed spec.
bool parse_spec(const char*& cursor, Spec& spec) {
    if (*cursor == '#') {
        spec.alternate = true;
        ++cursor;
    }
    if (*cursor == '0') {
        spec.zero_pad = true;
        ++cursor;
    }
    while (*cursor >= '0' && *cursor <= '9') {
        spec.width = spec.width * 10 + static_cast<usize>(*cursor - '0');
        if (spec.width > 64) {
            return false;
        }
        ++cursor;
    }
    if (*cursor == 'x' || *cursor == 'X' || *cursor == 'd' || *cursor == 'c' || *cursor == 's') {
        spec.type = *cursor;
        ++cursor;
    }
    return *cursor == '}';
}

}  // namespace

void vformat(FormatOutput& output, const char* fmt, const FormatArg* args, usize count) {
    usize next = 0;
    const char* cursor = fmt;
    const char* literal = cursor;
    while (*cursor != '\0') {
        if (*cursor == '{' && cursor[1] == '{') {
            output.write(literal, static_cast<usize>(cursor - literal) + 1);
            cursor += 2;
            literal = cursor;
            continue;
        }
        if (*cursor == '}' && cursor[1] == '}') {
            output.write(literal, static_cast<usize>(cursor - literal) + 1);
            cursor += 2;
            literal = cursor;
            continue;
        }
        if (*cursor != '{') {
            ++cursor;
            continue;
        }
        output.write(literal, static_cast<usize>(cursor - literal));
        const char* start = cursor;
        ++cursor;
        Spec spec;
        bool valid = true;
        if (*cursor == ':') {
            ++cursor;
            valid = parse_spec(cursor, spec);
        }
        if (!valid || *cursor != '}') {
            // Malformed placeholder: print it verbatim rather than guess.
            while (*cursor != '\0' && *cursor != '}') {
                ++cursor;
            }
            if (*cursor == '}') {
                ++cursor;
            }
            output.write(start, static_cast<usize>(cursor - start));
            literal = cursor;
            continue;
        }
        ++cursor;
        if (next < count) {
            emit_arg(output, spec, args[next]);
        } else {
            output.write("{?}", 3);
        }
        ++next;
        literal = cursor;
    }
    output.write(literal, static_cast<usize>(cursor - literal));
}

}  // namespace relay
