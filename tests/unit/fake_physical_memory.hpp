// A PhysicalMemoryReader over a host buffer placed at a chosen physical base; everything
// outside it is inaccessible. Tests write crafted structures into it.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "hv/boot/physical_memory_reader.hpp"

namespace relay::testing {

class FakePhysicalMemory final : public PhysicalMemoryReader {
public:
    FakePhysicalMemory(u64 base, u64 size) : base_(base), bytes_(size, 0) {}

    const u8* map(HostPhysAddr address, u64 size) const override {
        u64 a = address.raw();
        if (a < base_ || a - base_ > bytes_.size() || size > bytes_.size() - (a - base_)) {
            return nullptr;
        }
        return bytes_.data() + (a - base_);
    }

    void write(u64 address, const void* data, u64 size) {
        std::memcpy(bytes_.data() + (address - base_), data, size);
    }
    void write_u32(u64 address, u32 value) { write(address, &value, 4); }
    void write_u64(u64 address, u64 value) { write(address, &value, 8); }
    void write_string(u64 address, const std::string& text) {
        write(address, text.c_str(), text.size() + 1);
    }
    u64 base() const { return base_; }
    u64 end() const { return base_ + bytes_.size(); }

private:
    u64 base_;
    std::vector<u8> bytes_;
};

}  // namespace relay::testing
