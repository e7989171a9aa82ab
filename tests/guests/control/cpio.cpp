#include "tests/guests/control/cpio.hpp"

namespace relay::guest::control {

namespace {

constexpr usize kHeaderSize = 110;
constexpr std::string_view kMagic = "070701";
constexpr std::string_view kTrailer = "TRAILER!!!";
constexpr u32 kModeTypeMask = 0170000;
constexpr u32 kModeRegular = 0100000;

// Field `index` (0 = c_ino) of the header at `header`: 8 hex digits after the magic.
bool field(const u8* header, usize index, u32* value) {
    u32 result = 0;
    for (usize i = 0; i < 8; ++i) {
        u8 c = header[kMagic.size() + index * 8 + i];
        u32 digit;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        } else {
            return false;
        }
        result = result * 16 + digit;
    }
    *value = result;
    return true;
}

usize pad4(usize value) {
    return (value + 3) & ~usize{3};
}

}  // namespace

Result<std::span<const u8>> cpio_find(std::span<const u8> archive, std::string_view name) {
    usize offset = 0;
    while (true) {
        if (archive.size() - offset < kHeaderSize) {
            return make_error(ErrorCode::kCorrupt, "cpio: truncated header at offset {}", offset);
        }
        const u8* header = archive.data() + offset;
        if (std::string_view(reinterpret_cast<const char*>(header), kMagic.size()) != kMagic) {
            return make_error(ErrorCode::kCorrupt, "cpio: no newc magic at offset {}", offset);
        }
        u32 mode = 0;
        u32 file_size = 0;
        u32 name_size = 0;
        if (!field(header, 1, &mode) || !field(header, 6, &file_size) ||
            !field(header, 11, &name_size)) {
            return make_error(ErrorCode::kCorrupt, "cpio: header at offset {} is not hex", offset);
        }
        usize name_start = offset + kHeaderSize;
        if (name_size == 0 || name_size > archive.size() - name_start) {
            return make_error(ErrorCode::kCorrupt, "cpio: name at offset {} runs past the end",
                              name_start);
        }
        // The name includes its NUL.
        if (archive[name_start + name_size - 1] != 0) {
            return make_error(ErrorCode::kCorrupt, "cpio: name at offset {} is not terminated",
                              name_start);
        }
        std::string_view entry(reinterpret_cast<const char*>(archive.data() + name_start),
                               name_size - 1);
        usize data_start = pad4(name_start + name_size);
        if (data_start > archive.size() || file_size > archive.size() - data_start) {
            return make_error(ErrorCode::kCorrupt, "cpio: \"{}\" ({} bytes) runs past the end",
                              entry, file_size);
        }
        if (entry == kTrailer) {
            return make_error(ErrorCode::kNotFound, "no file \"{}\" in the archive", name);
        }
        if (entry == name && (mode & kModeTypeMask) == kModeRegular) {
            return archive.subspan(data_start, file_size);
        }
        offset = pad4(data_start + file_size);
        if (offset > archive.size()) {
            return make_error(ErrorCode::kCorrupt, "cpio: no trailer");
        }
    }
}

}  // namespace relay::guest::control
