#include "iommu/fault_report.hpp"

namespace relay::iommu {

FaultReporter::FaultReporter(u32 per_second, u32 burst)
    // At most one report a microsecond: the interval is never 0.
    : interval_us_(per_second == 0          ? 1'000'000
                   : per_second > 1'000'000 ? 1
                                            : 1'000'000 / per_second),
      burst_(burst == 0 ? 1 : burst),
      tokens_(burst_) {}

// The bucket gains one token per interval up to `burst_`; a full bucket banks no time.
bool FaultReporter::take_token(u64 now_us) {
    if (!started_) {
        started_ = true;
        refilled_at_us_ = now_us;
    }
    if (now_us > refilled_at_us_) {
        u64 gained = (now_us - refilled_at_us_) / interval_us_;
        if (gained >= burst_ - tokens_) {
            tokens_ = burst_;
            refilled_at_us_ = now_us;
        } else {
            tokens_ += static_cast<u32>(gained);
            refilled_at_us_ += gained * interval_us_;
        }
    }
    if (tokens_ == 0) {
        return false;
    }
    --tokens_;
    return true;
}

void FaultReporter::poll(u64 now_us, const IommuEvent* events, usize count, bool error_signalled,
                         FaultReportSink& sink) {
    if (unannounced_ != 0 && take_token(now_us)) {
        sink.dropped(unannounced_);
        unannounced_ = 0;
    }
    auto report = [&](auto&& emit) {
        if (take_token(now_us)) {
            emit();
            ++reported_;
        } else {
            ++unannounced_;
            ++dropped_;
        }
    };
    for (usize i = 0; i < count; ++i) {
        report([&] { sink.event(events[i]); });
    }
    if (error_signalled && count == 0) {
        report([&] { sink.unlogged_error(); });
    }
}

}  // namespace relay::iommu
