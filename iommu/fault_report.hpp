// FaultReporter: which of one IOMMU unit's reports reach the console, and when.
//
// CPU 0 polls every unit every few milliseconds. A device that faults on every request (a
// broken or hostile driver in its domain) must neither flood the serial console nor keep
// CPU 0 writing to it, so reports pass through a token bucket: `burst` at once, then
// `per_second` on average. Reports that do not fit are counted, never queued, and their
// number is announced as soon as a report fits again.
//
// A poll hands over the events the unit logged and whether the unit signalled an error
// (AMD-Vi: Signaled Target Abort in its PCI status register, PCI 3.0 §6.2.3) since the
// previous poll. A signal with nothing logged is reported on its own: the unit refused
// something without saying what. QEMU's amd-iommu before 10.1 is such a unit: it sets the
// bit on every refused request and never writes its event log (docs/iommu.md).
//
// Freestanding and hosted; the caller provides the time and formats the lines.
#pragma once

#include "iommu/iommu.hpp"
#include "lib/types.hpp"

namespace relay::iommu {

class FaultReportSink {
public:
    virtual void event(const IommuEvent& event) = 0;
    // The unit signalled an error since the previous poll and logged nothing.
    virtual void unlogged_error() = 0;
    // `count` reports were dropped by the rate limit since the previous announcement.
    virtual void dropped(u64 count) = 0;

protected:
    ~FaultReportSink() = default;
};

class FaultReporter {
public:
    static constexpr u32 kDefaultPerSecond = 10;
    static constexpr u32 kDefaultBurst = 20;

    // per_second and burst are at least 1 (0 is taken as 1).
    explicit FaultReporter(u32 per_second = kDefaultPerSecond, u32 burst = kDefaultBurst);

    // One poll of the unit at `now_us` (a clock that does not go backwards; if it does,
    // no time has passed): announces dropped reports if a report fits, then reports each
    // event, then an unlogged error if `error_signalled` and `count` is 0.
    void poll(u64 now_us, const IommuEvent* events, usize count, bool error_signalled,
              FaultReportSink& sink);

    u64 reported() const { return reported_; }  // reports that reached the sink
    u64 dropped() const { return dropped_; }    // reports the rate limit dropped

private:
    bool take_token(u64 now_us);

    u64 interval_us_;
    u32 burst_;
    u32 tokens_;
    bool started_ = false;
    u64 refilled_at_us_ = 0;
    u64 unannounced_ = 0;  // dropped since the last announcement
    u64 reported_ = 0;
    u64 dropped_ = 0;
};

}  // namespace relay::iommu
