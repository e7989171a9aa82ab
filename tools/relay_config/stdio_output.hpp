// relay::format() onto a C stdio stream, so that the tool prints with the same "{}"
// formatter as the hypervisor.
#pragma once

#include <cstdio>

#include "lib/format.hpp"

namespace relay::config_tool {

class StdioOutput final : public FormatOutput {
public:
    explicit StdioOutput(std::FILE* stream) : stream_(stream) {}
    void write(const char* data, usize length) override { std::fwrite(data, 1, length, stream_); }

private:
    std::FILE* stream_;
};

}  // namespace relay::config_tool
