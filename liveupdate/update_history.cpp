#include "liveupdate/update_history.hpp"

#include "lib/static_storage.hpp"

namespace relay::liveupdate {

namespace {
StaticStorage<UpdateHistory> history;
bool constructed = false;
}  // namespace

UpdateRecordEntry& UpdateHistory::append() {
    if (count_ == kMaxRecords) {
        for (usize i = 1; i < kMaxRecords; ++i) {
            records_[i - 1] = records_[i];
        }
        --count_;
    }
    records_[count_] = UpdateRecordEntry{};
    return records_[count_++];
}

UpdateHistory& update_history() {
    if (!constructed) {
        history.construct();
        constructed = true;
    }
    return history.get();
}

}  // namespace relay::liveupdate
