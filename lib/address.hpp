// Typed addresses: host-physical, guest-physical and hypervisor-virtual addresses are
// distinct types, so mixing them up does not compile. Offsets are plain u64.
// Compiles freestanding and hosted.
#pragma once

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay {

template <typename Tag>
class Address {
public:
    constexpr Address() = default;
    constexpr explicit Address(u64 value) : value_(value) {}

    constexpr u64 raw() const { return value_; }

    constexpr Address operator+(u64 offset) const { return Address(value_ + offset); }
    constexpr Address operator-(u64 offset) const { return Address(value_ - offset); }
    constexpr u64 operator-(Address other) const { return value_ - other.value_; }
    constexpr Address& operator+=(u64 offset) {
        value_ += offset;
        return *this;
    }

    constexpr auto operator<=>(const Address&) const = default;

    constexpr bool is_aligned(u64 alignment) const { return (value_ & (alignment - 1)) == 0; }
    constexpr Address align_down(u64 alignment) const { return Address(value_ & ~(alignment - 1)); }

    // True when adding `offset` does not wrap around.
    constexpr bool can_add(u64 offset) const { return value_ + offset >= value_; }

private:
    u64 value_ = 0;
};

struct HostPhysTag {};
struct GuestPhysTag {};
struct HvVirtTag {};

using HostPhysAddr = Address<HostPhysTag>;    // host-physical (what the CPU puts on the bus)
using GuestPhysAddr = Address<GuestPhysTag>;  // guest-physical (translated by NPT/IOMMU)
using HvVirtAddr = Address<HvVirtTag>;        // hypervisor-virtual

template <typename Tag>
FormatArg format_arg(Address<Tag> address) {
    FormatArg arg;
    arg.kind = FormatArg::Kind::kUnsigned;
    arg.prefer_hex = true;
    arg.unsigned_value = address.raw();
    return arg;
}

// A half-open range [base, base + size) that never wraps: construct with make(), which
// refuses sizes that overflow. size may be zero (an empty range overlaps nothing).
template <typename A>
class Range {
public:
    constexpr Range() = default;

    static constexpr bool fits(A base, u64 size) { return size == 0 || base.can_add(size - 1); }

    // Caller has established fits(base, size).
    static constexpr Range unchecked(A base, u64 size) { return Range(base, size); }

    static constexpr bool make(A base, u64 size, Range* out) {
        if (!fits(base, size)) {
            return false;
        }
        *out = Range(base, size);
        return true;
    }

    constexpr A base() const { return base_; }
    constexpr u64 size() const { return size_; }
    constexpr bool empty() const { return size_ == 0; }
    // Last byte inside the range; meaningless for an empty range.
    constexpr A last() const { return base_ + (size_ - 1); }

    constexpr bool contains(A address) const {
        return size_ != 0 && address >= base_ && address - base_ < size_;
    }
    constexpr bool contains(const Range& other) const {
        if (other.empty()) {
            return true;
        }
        return contains(other.base_) && contains(other.last());
    }
    constexpr bool overlaps(const Range& other) const {
        if (empty() || other.empty()) {
            return false;
        }
        return base_ <= other.last() && other.base_ <= last();
    }

    constexpr bool operator==(const Range&) const = default;

private:
    constexpr Range(A base, u64 size) : base_(base), size_(size) {}
    A base_{};
    u64 size_ = 0;
};

using HostPhysRange = Range<HostPhysAddr>;
using GuestPhysRange = Range<GuestPhysAddr>;

}  // namespace relay
