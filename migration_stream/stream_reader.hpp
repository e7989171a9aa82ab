// StreamReader: typed access to a stream's state, available only from a VerifiedStream
// (stream_verifier.hpp), so nothing reads a field the verifier has not checked.
//
//   RELAY_TRY_ASSIGN(verified, verify_stream(bytes, size, options));
//   StreamReader reader(verified);
//   for (const schema::Domain* domain : reader.domains()) { ... }
#pragma once

#include "lib/types.hpp"
#include "migration_stream/features.hpp"
#include "migration_stream/stream_header.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "schema/relay_generated.h"

namespace relay::stream {

// An empty-or-real vector view, so callers need no null checks for absent vectors.
template <typename T>
class VectorView {
public:
    using Vector = flatbuffers::Vector<T>;
    explicit VectorView(const Vector* vector) : vector_(vector) {}

    usize size() const { return vector_ != nullptr ? vector_->size() : 0; }
    bool empty() const { return size() == 0; }
    auto operator[](usize index) const {
        return vector_->Get(static_cast<flatbuffers::uoffset_t>(index));
    }
    auto begin() const {
        return vector_ != nullptr ? vector_->begin() : typename Vector::const_iterator(nullptr, 0);
    }
    auto end() const {
        return vector_ != nullptr ? vector_->end() : typename Vector::const_iterator(nullptr, 0);
    }

private:
    const Vector* vector_;
};

class StreamReader {
public:
    explicit StreamReader(const VerifiedStream& stream) : stream_(stream) {}

    const StreamHeader& header() const { return stream_.header(); }
    const schema::HostState& host_state() const { return stream_.host_state(); }
    const schema::BuildInfo& producer() const { return *host_state().producer(); }

    VectorView<flatbuffers::Offset<schema::Domain>> domains() const {
        return VectorView<flatbuffers::Offset<schema::Domain>>(host_state().domains());
    }
    VectorView<const schema::PreservedRange*> preserved_ranges() const {
        return VectorView<const schema::PreservedRange*>(host_state().preserved_ranges());
    }
    VectorView<flatbuffers::Offset<schema::BootModule>> boot_modules() const {
        return VectorView<flatbuffers::Offset<schema::BootModule>>(host_state().boot_modules());
    }
    VectorView<flatbuffers::Offset<schema::UpdateRecord>> update_history() const {
        return VectorView<flatbuffers::Offset<schema::UpdateRecord>>(host_state().update_history());
    }
    VectorView<flatbuffers::Offset<schema::IommuUnit>> iommu_units() const {
        const schema::IommuState* iommu = host_state().iommu();
        return VectorView<flatbuffers::Offset<schema::IommuUnit>>(iommu != nullptr ? iommu->units()
                                                                                   : nullptr);
    }

    // Domains are sorted by domid (verified), so this is a binary search.
    const schema::Domain* find_domain(u16 domid) const {
        auto all = domains();
        usize low = 0;
        usize high = all.size();
        while (low < high) {
            usize middle = low + (high - low) / 2;
            const schema::Domain* candidate = all[middle];
            if (candidate->domid() == domid) {
                return candidate;
            }
            if (candidate->domid() < domid) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        return nullptr;
    }

    // Whether the stream announced a feature (unknown optional data is simply absent).
    bool has_feature(Feature feature) const {
        const FeatureInfo& info = feature_info(feature);
        u64 bits = info.feature_class == FeatureClass::kRequired ? header().required_features
                                                                 : header().optional_features;
        return (bits & feature_mask(info.bit)) != 0;
    }

private:
    const VerifiedStream& stream_;
};

}  // namespace relay::stream
