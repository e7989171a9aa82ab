// A PhysicalMemoryReader for fuzzing parsers that follow physical pointers (multiboot,
// ACPI): the fuzz input is memory at `base`, everything else is inaccessible. Unlike
// tests/unit/fake_physical_memory.hpp, every map() returns a fresh, exactly sized copy of
// the range, alive until the reader is destroyed, so AddressSanitizer reports a parser that
// reads one byte past what it mapped (or keeps a pointer into loader memory after it is
// gone). It also records the lowest and highest byte mapped.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "hv/boot/physical_memory_reader.hpp"

namespace relay::tests {

class StrictPhysicalMemory final : public PhysicalMemoryReader {
public:
    StrictPhysicalMemory(u64 base, const u8* bytes, u64 size) : base_(base), size_(size) {
        bytes_.reset(new u8[size]);
        if (size > 0) {
            std::memcpy(bytes_.get(), bytes, size);
        }
    }

    const u8* map(HostPhysAddr address, u64 size) const override {
        u64 a = address.raw();
        if (a < base_ || a - base_ > size_ || size > size_ - (a - base_)) {
            return nullptr;
        }
        ++map_count_;
        if (size > 0) {
            lowest_ = a < lowest_ ? a : lowest_;
            u64 last = a + size - 1;
            highest_ = last > highest_ ? last : highest_;
        }
        copies_.emplace_back(new u8[size]);
        if (size > 0) {
            std::memcpy(copies_.back().get(), bytes_.get() + (a - base_), size);
        }
        return copies_.back().get();
    }

    // Frees every copy handed out: a parser result that still points into one is a
    // use-after-free under AddressSanitizer.
    void release() const { copies_.clear(); }

    u64 base() const { return base_; }
    u64 size() const { return size_; }
    u64 map_count() const { return map_count_; }
    // Lowest and highest byte of any non-empty map (lowest > highest when none).
    u64 lowest_mapped() const { return lowest_; }
    u64 highest_mapped() const { return highest_; }

private:
    u64 base_;
    u64 size_;
    std::unique_ptr<u8[]> bytes_;
    mutable std::vector<std::unique_ptr<u8[]>> copies_;
    mutable u64 map_count_ = 0;
    mutable u64 lowest_ = ~u64{0};
    mutable u64 highest_ = 0;
};

}  // namespace relay::tests
