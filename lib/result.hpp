// Errors are values: Result<T> holds either a T or an Error with a code and a message
// that names what was wrong. No exceptions, no heap; compiles freestanding and hosted.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay {

// Stable error codes. Numbers are part of tool output and the hypercall ABI mapping
// (docs/hypercalls.md): append only.
enum class ErrorCode : u16 {
    kOk = 0,
    kInvalidArgument = 1,   // a caller-supplied value is malformed or out of range
    kOutOfRange = 2,        // an index, address or size lies outside what is allowed
    kOutOfMemory = 3,       // no memory (frames, buffer space) to complete the request
    kNotFound = 4,          // the named object does not exist
    kAlreadyExists = 5,     // an object with that identity exists
    kPermissionDenied = 6,  // the caller lacks the role the operation needs
    kCorrupt = 7,           // data failed a structural or semantic check
    kTruncated = 8,         // data ends before its declared size
    kBadMagic = 9,          // data does not start with the expected magic
    kUnsupported = 10,      // well-formed but not supported by this build
    kVersionMismatch = 11,  // a version this build does not read
    kDigestMismatch = 12,   // payload digest does not match the header
    kBusy = 13,             // the object is in a state that forbids the operation now
    kOverflow = 14,         // an arithmetic result does not fit
    kInternal = 15,         // an invariant of Relay itself failed
};

const char* error_code_name(ErrorCode code);

class Error {
public:
    static constexpr usize kMessageCapacity = 224;

    Error() = default;

    template <typename... Args>
    Error(ErrorCode code, const char* fmt, const Args&... args) : code_(code) {
        format_to_buffer(message_, kMessageCapacity, fmt, args...);
    }

    ErrorCode code() const { return code_; }
    const char* message() const { return message_; }

    // Prefixes the message with context ("domain 3: " + message), keeping the code.
    template <typename... Args>
    Error& prefix(const char* fmt, const Args&... args) {
        char head[kMessageCapacity];
        usize head_length = format_to_buffer(head, kMessageCapacity, fmt, args...);
        char joined[kMessageCapacity];
        format_to_buffer(joined, kMessageCapacity, "{}{}", std::string_view(head, head_length),
                         message_);
        for (usize i = 0; i < kMessageCapacity; ++i) {
            message_[i] = joined[i];
        }
        return *this;
    }

private:
    ErrorCode code_ = ErrorCode::kOk;
    char message_[kMessageCapacity] = {};
};

template <typename... Args>
Error make_error(ErrorCode code, const char* fmt, const Args&... args) {
    return Error(code, fmt, args...);
}

// Result<T>: a T or an Error. Accessing the wrong side is an invariant violation of the
// caller (checked by RELAY_RESULT_ASSERT).
template <typename T>
class [[nodiscard]] Result {
public:
    Result(const T& value) : has_value_(true) { new (&storage_.value) T(value); }
    Result(T&& value) : has_value_(true) { new (&storage_.value) T(std::move(value)); }
    Result(const Error& error) : has_value_(false) { new (&storage_.error) Error(error); }

    Result(const Result& other) : has_value_(other.has_value_) {
        if (has_value_) {
            new (&storage_.value) T(other.storage_.value);
        } else {
            new (&storage_.error) Error(other.storage_.error);
        }
    }
    Result(Result&& other) : has_value_(other.has_value_) {
        if (has_value_) {
            new (&storage_.value) T(std::move(other.storage_.value));
        } else {
            new (&storage_.error) Error(other.storage_.error);
        }
    }
    Result& operator=(const Result&) = delete;
    ~Result() {
        if (has_value_) {
            storage_.value.~T();
        }
    }

    bool ok() const { return has_value_; }
    explicit operator bool() const { return has_value_; }

    T& value() & { return storage_.value; }
    const T& value() const& { return storage_.value; }
    T&& value() && { return std::move(storage_.value); }
    T* operator->() { return &storage_.value; }
    const T* operator->() const { return &storage_.value; }
    T& operator*() { return storage_.value; }

    const Error& error() const { return storage_.error; }
    Error& error() { return storage_.error; }

private:
    union Storage {
        Storage() {}
        ~Storage() {}
        T value;
        Error error;
    } storage_;
    bool has_value_;
};

// Status: success or an Error.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(const Error& error) : error_(error), failed_(true) {}

    static Status success() { return Status(); }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return !failed_; }
    const Error& error() const { return error_; }
    Error& error() { return error_; }

private:
    Error error_;
    bool failed_ = false;
};

inline Status ok_status() {
    return Status();
}

}  // namespace relay

// Propagates an error from an expression yielding Status or Result<T>.
#define RELAY_TRY(expression)                  \
    do {                                       \
        auto relay_try_result_ = (expression); \
        if (!relay_try_result_.ok()) {         \
            return relay_try_result_.error();  \
        }                                      \
    } while (0)

#define RELAY_CONCAT_INNER(a, b) a##b
#define RELAY_CONCAT(a, b) RELAY_CONCAT_INNER(a, b)

// Declares `name` from a Result<T> expression or returns its error.
#define RELAY_TRY_ASSIGN(name, expression)                     \
    auto RELAY_CONCAT(relay_result_, __LINE__) = (expression); \
    if (!RELAY_CONCAT(relay_result_, __LINE__).ok()) {         \
        return RELAY_CONCAT(relay_result_, __LINE__).error();  \
    }                                                          \
    auto name = std::move(RELAY_CONCAT(relay_result_, __LINE__).value())
