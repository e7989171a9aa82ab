// relay::format() onto a C stdio stream, so that the tool prints with the same "{}"
// formatter as the hypervisor.
#pragma once

#include <cstdio>

#include "lib/format.hpp"

namespace relay::config_tool {

class StdioOutput final : public FormatOutput {
public:
    explicit StdioOutput(std::FILE* stream) : stream_(stream) {}
    // An empty piece may come with a null pointer (an empty std::string_view), which
    // fwrite must not be given.
    void write(const char* data, usize length) override {
        if (length != 0) {
            std::fwrite(data, 1, length, stream_);
        }
    }

private:
    std::FILE* stream_;
};

}  // namespace relay::config_tool
