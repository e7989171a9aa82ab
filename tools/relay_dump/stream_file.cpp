#include "tools/relay_dump/stream_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace relay::tools {

Result<FileBytes> read_file(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        return Error(ErrorCode::kNotFound, "cannot open {}: {}", path.c_str(),
                     std::strerror(errno));
    }
    std::vector<u8> bytes;
    u8 chunk[1 << 16];
    while (true) {
        usize got = std::fread(chunk, 1, sizeof(chunk), file);
        bytes.insert(bytes.end(), chunk, chunk + got);
        if (got < sizeof(chunk)) {
            break;
        }
    }
    bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed) {
        return Error(ErrorCode::kInvalidArgument, "cannot read {}", path.c_str());
    }
    return copy_bytes(bytes.data(), bytes.size());
}

Status write_file(const std::string& path, const void* data, usize size) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        return Error(ErrorCode::kInvalidArgument, "cannot create {}: {}", path.c_str(),
                     std::strerror(errno));
    }
    usize written = size == 0 ? 0 : std::fwrite(data, 1, size, file);
    bool failed = written != size;
    failed = (std::fclose(file) != 0) || failed;
    if (failed) {
        return Error(ErrorCode::kInvalidArgument, "cannot write {}", path.c_str());
    }
    return ok_status();
}

FileBytes copy_bytes(const void* data, usize size) {
    FileBytes bytes(size);
    if (size > 0) {
        std::memcpy(bytes.data(), data, size);
    }
    return bytes;
}

}  // namespace relay::tools
