// The C library functions freestanding images need: what the compiler's output, libfdt and
// FlatBuffers' readers call (ENVIRONMENT.md lists them). Linked into the hypervisor and the
// test guests (//lib:libc_freestanding); hosted code uses the system's libc. Nothing else
// from libc exists here.
#include <cstddef>

extern "C" {

// Bulk copies and fills go by quadwords, the tail by bytes. On hardware rep movsq is as
// fast as ERMS's rep movsb; an emulator (QEMU TCG) runs one iteration per element, so
// eight times fewer is eight times faster, and far more where every store takes a slow
// path (TCG invalidating code it translated from the destination, as when a staged image
// overwrites the build that ran there before).
void* memcpy(void* destination, const void* source, size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    size_t quads = count / 8;
    size_t bytes = count % 8;
    asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(quads) : : "memory");
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(bytes) : : "memory");
    return destination;
}

void* memmove(void* destination, const void* source, size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    if (d == s || count == 0) {
        return destination;
    }
    if (d < s || d >= s + count) {
        // memcpy copies forwards one element at a time, each read before it is written:
        // with the destination below the source, no element overwrites one not yet read.
        return memcpy(destination, source, count);
    }
    // Overlapping with destination above source: copy backwards.
    d += count - 1;
    s += count - 1;
    asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(count) : : "memory");
    return destination;
}

void* memset(void* destination, int value, size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    unsigned long long pattern = 0x0101010101010101ull * static_cast<unsigned char>(value);
    size_t quads = count / 8;
    size_t bytes = count % 8;
    asm volatile("rep stosq" : "+D"(d), "+c"(quads) : "a"(pattern) : "memory");
    asm volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(pattern) : "memory");
    return destination;
}

int memcmp(const void* a, const void* b, size_t count) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

void* memchr(const void* data, int value, size_t count) {
    auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < count; ++i) {
        if (p[i] == static_cast<unsigned char>(value)) {
            return const_cast<unsigned char*>(p + i);
        }
    }
    return nullptr;
}

size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') {
        ++n;
    }
    return n;
}

size_t strnlen(const char* s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        ++n;
    }
    return n;
}

int strncmp(const char* a, const char* b, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        auto x = static_cast<unsigned char>(a[i]);
        auto y = static_cast<unsigned char>(b[i]);
        if (x != y) {
            return x < y ? -1 : 1;
        }
        if (x == '\0') {
            return 0;
        }
    }
    return 0;
}

int strcmp(const char* a, const char* b) {
    return strncmp(a, b, ~static_cast<size_t>(0));
}

char* strchr(const char* s, int c) {
    for (;; ++s) {
        if (*s == static_cast<char>(c)) {
            return const_cast<char*>(s);
        }
        if (*s == '\0') {
            return nullptr;
        }
    }
}

char* strrchr(const char* s, int c) {
    const char* last = nullptr;
    for (;; ++s) {
        if (*s == static_cast<char>(c)) {
            last = s;
        }
        if (*s == '\0') {
            return const_cast<char*>(last);
        }
    }
}

}  // extern "C"
