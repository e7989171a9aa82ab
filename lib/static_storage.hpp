// Storage for a large object with static lifetime that is constructed at run time.
//
// A static object whose type has non-zero default member initializers lands in .data
// (the compiler stores its initial image in the file). For the hypervisor's big tables
// that would bloat the image and its .data, which a live update must be able to restore
// byte for byte. StaticStorage keeps the bytes in .bss and constructs the object
// explicitly, before first use. Freestanding and hosted.
#pragma once

#include <new>

#include "lib/types.hpp"

namespace relay {

template <typename T>
class StaticStorage {
public:
    template <typename... Args>
    T& construct(Args&&... args) {
        return *new (bytes_) T(static_cast<Args&&>(args)...);
    }
    T& get() { return *std::launder(reinterpret_cast<T*>(bytes_)); }
    const T& get() const { return *std::launder(reinterpret_cast<const T*>(bytes_)); }
    T* operator->() { return &get(); }
    T& operator*() { return get(); }

private:
    alignas(T) u8 bytes_[sizeof(T)];
};

}  // namespace relay
