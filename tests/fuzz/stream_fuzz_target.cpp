#include "tests/fuzz/stream_fuzz_target.hpp"

#include <cstring>
#include <vector>

#include "migration_stream/feature_usage.hpp"
#include "migration_stream/features.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "migration_stream/stream_writer.hpp"
#include "tools/relay_dump/stream_diff.hpp"
#include "tools/relay_dump/stream_json.hpp"
#include "tools/relay_dump/stream_summary.hpp"

namespace relay::tests {
namespace {

// Reads every verified thing a consumer would.
void consume(const stream::VerifiedStream& verified) {
    stream::StreamReader reader(verified);
    stream::FeatureUse use = stream::scan_feature_use(reader.host_state());
    // The verifier guarantees the content's required bits are announced.
    if ((use.required & ~reader.header().required_features) != 0) {
        __builtin_trap();
    }
    for (const schema::Domain* domain : reader.domains()) {
        if (reader.find_domain(domain->domid()) != domain) {
            __builtin_trap();  // domids are unique and sorted
        }
    }
    std::string summary = tools::summarize_stream(verified);
    std::vector<std::string> differences = tools::diff_streams(verified, verified);
    if (!differences.empty()) {
        __builtin_trap();  // a stream equals itself
    }
    auto json = tools::StreamSchema::embedded().to_json(verified.payload(), false);
    if (!json.ok()) {
        __builtin_trap();
    }
}

int verify_and_consume(const uint8_t* data, size_t size) {
    // 8-byte aligned copy (the verifier refuses misaligned input).
    std::vector<uint64_t> storage(size / 8 + 1);
    std::memcpy(storage.data(), data, size);
    auto verified = stream::verify_stream(storage.data(), size);
    if (!verified.ok()) {
        return 0;
    }
    consume(verified.value());
    return 1;
}

}  // namespace

int fuzz_stream_once(const uint8_t* data, size_t size) {
    int verified = verify_and_consume(data, size);
    if (size >= stream::kStreamHeaderSize &&
        std::memcmp(data, stream::kStreamMagic, sizeof(stream::kStreamMagic)) == 0) {
        std::vector<uint8_t> fixed(data, data + size);
        uint8_t header[stream::kStreamHeaderSize];
        std::memcpy(header, data, sizeof(header));
        uint64_t declared = 0;
        for (int i = 7; i >= 0; --i) {
            declared = (declared << 8) | header[stream::header_offset::kPayloadSize + i];
        }
        size_t payload = size - stream::kStreamHeaderSize;
        if (declared < payload) {
            payload = static_cast<size_t>(declared);
        }
        stream::Sha256Digest digest =
            stream::compute_stream_digest(header, data + stream::kStreamHeaderSize, payload);
        std::memcpy(fixed.data() + stream::header_offset::kDigest, digest.bytes,
                    sizeof(digest.bytes));
        verified += verify_and_consume(fixed.data(), fixed.size());
    } else {
        stream::StreamHeader header;
        header.required_features = stream::known_feature_mask(stream::FeatureClass::kRequired);
        if (size >= 48) {
            // The producer build the payload names (if it does, at this fixed spot it
            // rarely will; the semantic check reports the mismatch, which is also fine).
            std::memcpy(header.producer_build.bytes, data + 16, stream::kBuildIdBytes);
        }
        std::vector<uint64_t> payload(size / 8 + 1);
        std::memcpy(payload.data(), data, size);
        std::vector<uint8_t> wrapped(stream::kStreamHeaderSize + size);
        if (stream::write_stream(payload.data(), size, header, wrapped.data(), wrapped.size())
                .ok()) {
            verified += verify_and_consume(wrapped.data(), wrapped.size());
        }
    }
    return verified;
}

}  // namespace relay::tests
