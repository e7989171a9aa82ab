#include "lib/result.hpp"

namespace relay {

const char* error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::kOk:
            return "ok";
        case ErrorCode::kInvalidArgument:
            return "invalid argument";
        case ErrorCode::kOutOfRange:
            return "out of range";
        case ErrorCode::kOutOfMemory:
            return "out of memory";
        case ErrorCode::kNotFound:
            return "not found";
        case ErrorCode::kAlreadyExists:
            return "already exists";
        case ErrorCode::kPermissionDenied:
            return "permission denied";
        case ErrorCode::kCorrupt:
            return "corrupt";
        case ErrorCode::kTruncated:
            return "truncated";
        case ErrorCode::kBadMagic:
            return "bad magic";
        case ErrorCode::kUnsupported:
            return "unsupported";
        case ErrorCode::kVersionMismatch:
            return "version mismatch";
        case ErrorCode::kDigestMismatch:
            return "digest mismatch";
        case ErrorCode::kBusy:
            return "busy";
        case ErrorCode::kOverflow:
            return "overflow";
        case ErrorCode::kInternal:
            return "internal error";
    }
    return "unknown error";
}

}  // namespace relay
