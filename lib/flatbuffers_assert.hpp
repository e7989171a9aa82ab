// Routes FlatBuffers' internal asserts to RELAY_ASSERT in freestanding builds
// (bazel/relay.bzl defines FLATBUFFERS_ASSERT to RELAY_FLATBUFFERS_ASSERT there).
#pragma once

#include "lib/assert.hpp"

#define RELAY_FLATBUFFERS_ASSERT(expression) RELAY_ASSERT(expression)
