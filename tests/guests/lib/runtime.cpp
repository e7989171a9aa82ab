// The C++ runtime hooks a freestanding guest needs. Guests have no heap: any call to
// operator new is a bug and panics with the caller's address.
#include <cstddef>
#include <new>

#include "tests/guests/lib/shutdown.hpp"

extern "C" {

void __cxa_pure_virtual() {
    relay::guest::panic("pure virtual function called");
}

// Global destructors never run (-fno-use-cxa-atexit routes registrations here).
int atexit(void (*)()) {
    return 0;
}

void* __dso_handle = nullptr;

}  // extern "C"

void* operator new(std::size_t size) {
    relay::guest::panic("hidden heap allocation of {} bytes from {}", size,
                        __builtin_return_address(0));
}
void* operator new[](std::size_t size) {
    relay::guest::panic("hidden heap allocation of {} bytes from {}", size,
                        __builtin_return_address(0));
}
void operator delete(void*) noexcept {
    relay::guest::panic("operator delete called");
}
void operator delete[](void*) noexcept {
    relay::guest::panic("operator delete[] called");
}
void operator delete(void*, std::size_t) noexcept {
    relay::guest::panic("operator delete called");
}
void operator delete[](void*, std::size_t) noexcept {
    relay::guest::panic("operator delete[] called");
}

namespace relay {

// lib/assert.hpp: an invariant of the guest's own code failed.
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line) {
    guest::panic("assertion failed: {} at {}:{}", expression, file, line);
}

}  // namespace relay
