// A stream written by a hypothetical next build (schema 1.2, tests/data/schema_next):
// it has a Domain field and a table today's schema does not know, and announces an
// optional feature bit today's build does not know. Declared without any schema header:
// the 1.2 generated code lives only in next_minor_stream.cpp (ENVIRONMENT.md: two
// variants of one schema must never meet in one translation unit).
#pragma once

#include <cstdint>
#include <vector>

namespace relay::tests {

// Optional bit the next build uses for its new data ("balloon-state").
inline constexpr unsigned kNextMinorOptionalBit = 3;

std::vector<uint8_t> make_next_minor_stream();

}  // namespace relay::tests
