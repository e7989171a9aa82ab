// What one rogue attack observed, what it had to observe, and the line that says so:
//   rogue: attack hypercalls/domain_pause(1): refused EPERM (expected EPERM) ok
//   rogue: attack msrs/rdmsr(0xc0010117 VM_HSAVE_PA): #GP(0) (expected #GP(0)) ok
//   rogue: attack io/inb(0x80): read 0xff (expected read 0xff) ok
//   rogue: attack pointers/console_write(...): returned 16 (expected EFAULT) UNEXPECTED
// docs/testing.md, "rogue", specifies the format. Shared: unit-tested on the host.
#pragma once

#include <initializer_list>
#include <string_view>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay::guest::rogue {

struct Observation {
    enum class Kind : u8 {
        kResult,     // a hypercall returned `value` (as i64)
        kFault,      // an instruction raised exception `vector` with `error_code`
        kRead,       // a read completed with `value`
        kCompleted,  // a write or other instruction completed without a fault
    };
    Kind kind = Kind::kCompleted;
    u64 value = 0;
    u8 vector = 0;
    u64 error_code = 0;

    static Observation result(i64 rax) { return {Kind::kResult, static_cast<u64>(rax), 0, 0}; }
    static Observation fault(u8 vector, u64 error_code) {
        return {Kind::kFault, 0, vector, error_code};
    }
    static Observation read(u64 value) { return {Kind::kRead, value, 0, 0}; }
    static Observation completed() { return {Kind::kCompleted, 0, 0, 0}; }
};

// One acceptable observation.
struct Acceptable {
    enum class Kind : u8 {
        kError,       // a hypercall result equal to `value` (a RELAY_E* code)
        kSuccess,     // any hypercall result >= 0
        kFault,       // exception `vector` with error code `value`
        kRead,        // a read of exactly `value`
        kReadMasked,  // a read whose bits under `mask` equal `value`
        kCompleted,
    };
    Kind kind;
    u64 value = 0;
    u64 mask = 0;
    u8 vector = 0;
    const char* description = nullptr;  // for kReadMasked: "SVME (bit 12) clear"
};

// What an attack must observe: one of up to three acceptable observations (an ABI that
// leaves the order of its checks open can legitimately give either error).
struct Expected {
    Acceptable options[3];
    usize count = 0;

    static Expected errors(std::initializer_list<i64> codes);
    static Expected error(i64 code) { return errors({code}); }
    static Expected success();
    static Expected fault(u8 vector, u64 error_code);
    static Expected read(u64 value);
    static Expected read_masked(u64 mask, u64 value, const char* description);
    static Expected completed();
    // Adds an acceptable observation ("read all ones, or #GP(0)").
    Expected& or_else(const Expected& other);
};

bool matches(const Expected& expected, const Observation& observation);

// "refused EPERM", "returned 16", "#GP(0)", "read 0xff", "completed".
void describe(FormatOutput& output, const Observation& observation);
// "EPERM", "EFAULT|ERANGE", "success", "#GP(0)", "read 0xff", "SVME (bit 12) clear".
void describe(FormatOutput& output, const Expected& expected);

// Where lines go: the guest's console, or a test's vector.
class LineSink {
public:
    virtual void write_line(std::string_view line) = 0;

protected:
    ~LineSink() = default;
};

// Prints one line per attack and counts the outcomes.
class AttackLog {
public:
    static constexpr usize kLineCapacity = 384;

    explicit AttackLog(LineSink& sink) : sink_(sink) {}

    // "rogue: attack <group>/<name>: <observed> (expected <expected>) ok|UNEXPECTED".
    // Returns whether the observation was acceptable.
    bool attack(std::string_view group, std::string_view name, const Observation& observed,
                const Expected& expected);

    // A property checked by the rogue itself (the contents of its own domain_info):
    // "rogue: check <group>/<name>: <observed> (expected <expected>) ok|UNEXPECTED".
    bool check(std::string_view group, std::string_view name, std::string_view observed,
               std::string_view expected, bool ok);

    // "rogue: <N> attacks refused as expected, <M> unexpected".
    void summary();

    usize as_expected() const { return as_expected_; }
    usize unexpected() const { return unexpected_; }

private:
    LineSink& sink_;
    usize as_expected_ = 0;
    usize unexpected_ = 0;
};

}  // namespace relay::guest::rogue
