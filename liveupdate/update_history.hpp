// The record of this machine's live updates, carried from build to build in the stream
// (schema UpdateRecord) and shown by relay-dump. The newest kMaxRecords are kept.
#pragma once

#include "lib/types.hpp"
#include "migration_stream/stream_header.hpp"

namespace relay::liveupdate {

struct UpdatePhaseTime {
    const char* name;  // static string
    u64 nanoseconds;
};

struct UpdateRecordEntry {
    static constexpr usize kMaxPhases = 8;
    u32 sequence = 0;
    stream::BuildId source_build;
    stream::BuildId target_build;
    char source_version[40] = {};
    char target_version[40] = {};
    u64 started_at_unix_ns = 0;
    u64 blackout_ns = 0;
    bool rolled_back = false;
    usize phase_count = 0;
    UpdatePhaseTime phases[kMaxPhases] = {};
};

class UpdateHistory {
public:
    static constexpr usize kMaxRecords = 64;

    void clear() { count_ = 0; }
    // Appends, dropping the oldest record when full.
    UpdateRecordEntry& append();
    usize size() const { return count_; }
    const UpdateRecordEntry& operator[](usize index) const { return records_[index]; }
    u32 next_sequence() const { return count_ == 0 ? 1 : records_[count_ - 1].sequence + 1; }

private:
    usize count_ = 0;
    UpdateRecordEntry records_[kMaxRecords];
};

UpdateHistory& update_history();

}  // namespace relay::liveupdate
