// The few C++ runtime hooks a freestanding image needs. The hypervisor has no heap:
// any call to operator new is a bug and panics with the caller's address.
#include <cstddef>
#include <new>

#include "hv/panic.hpp"

extern "C" {

void __cxa_pure_virtual() {
    relay::panic("pure virtual function called");
}

// Global destructors never run (-fno-use-cxa-atexit routes registrations here).
int atexit(void (*)()) {
    return 0;
}

void* __dso_handle = nullptr;

}  // extern "C"

void* operator new(std::size_t size) {
    relay::panic("hidden heap allocation of {} bytes from {}", size, __builtin_return_address(0));
}
void* operator new[](std::size_t size) {
    relay::panic("hidden heap allocation of {} bytes from {}", size, __builtin_return_address(0));
}
void operator delete(void*) noexcept {
    relay::panic("operator delete called");
}
void operator delete[](void*) noexcept {
    relay::panic("operator delete[] called");
}
void operator delete(void*, std::size_t) noexcept {
    relay::panic("operator delete called");
}
void operator delete[](void*, std::size_t) noexcept {
    relay::panic("operator delete[] called");
}
void operator delete(void*, std::align_val_t) noexcept {
    relay::panic("operator delete called");
}
void operator delete(void*, std::size_t, std::align_val_t) noexcept {
    relay::panic("operator delete called");
}

namespace relay {

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line) {
    panic("assertion failed: {} at {}:{}", expression, file, line);
}

}  // namespace relay
