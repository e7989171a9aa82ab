// Reading whole files into 8-byte aligned memory (the verifier reads FlatBuffers scalars
// in place) and writing them back. Errors name the path and the system's reason.
#pragma once

#include <string>
#include <vector>

#include "lib/result.hpp"

namespace relay::tools {

class FileBytes {
public:
    FileBytes() = default;
    explicit FileBytes(usize size) : storage_(size / 8 + 1), size_(size) {}

    const u8* data() const { return reinterpret_cast<const u8*>(storage_.data()); }
    u8* data() { return reinterpret_cast<u8*>(storage_.data()); }
    usize size() const { return size_; }

private:
    std::vector<u64> storage_;
    usize size_ = 0;
};

Result<FileBytes> read_file(const std::string& path);
Status write_file(const std::string& path, const void* data, usize size);

// Copies bytes into aligned storage.
FileBytes copy_bytes(const void* data, usize size);

}  // namespace relay::tools
