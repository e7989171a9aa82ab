#include "migration_stream/feature_usage.hpp"

#include "migration_stream/features.hpp"

namespace relay::stream {
namespace {

void scan_domain(const schema::Domain& domain, FeatureUse& use) {
    if (const auto* vcpus = domain.vcpus()) {
        for (const schema::Vcpu* vcpu : *vcpus) {
            if (vcpu->xsave() != nullptr && vcpu->xsave()->size() > 0) {
                use.required |= feature_mask(Feature::kXsaveState);
            }
            if (vcpu->cet() != nullptr) {
                use.required |= feature_mask(Feature::kCetState);
            }
        }
    }
    if (const auto* memory = domain.memory()) {
        for (const schema::MemoryExtent* extent : *memory) {
            if (extent->page_size_log2() > 12) {
                use.required |= feature_mask(Feature::kLargePages);
            }
        }
    }
    if (const schema::BootConfig* boot = domain.boot();
        boot != nullptr && boot->passthrough() != nullptr && boot->passthrough()->size() > 0) {
        use.required |= feature_mask(Feature::kDeviceAssignment);
    }
    if (const auto* console = domain.console()) {
        bool output = console->unsent_output() != nullptr && console->unsent_output()->size() > 0;
        bool input = console->uart() != nullptr && console->uart()->receive_fifo() != nullptr &&
                     console->uart()->receive_fifo()->size() > 0;
        if (output || input) {
            use.optional |= feature_mask(Feature::kConsoleOutput);
        }
    }
}

}  // namespace

FeatureUse scan_feature_use(const schema::HostState& state) {
    FeatureUse use;
    if (const auto* domains = state.domains()) {
        for (const schema::Domain* domain : *domains) {
            scan_domain(*domain, use);
        }
    }
    if (state.iommu() != nullptr && state.iommu()->units() != nullptr &&
        state.iommu()->units()->size() > 0) {
        use.required |= feature_mask(Feature::kIommuState);
    }
    if (const auto* history = state.update_history()) {
        if (history->size() > 0) {
            use.optional |= feature_mask(Feature::kUpdateHistory);
        }
        for (const schema::UpdateRecord* record : *history) {
            if (record->phases() != nullptr && record->phases()->size() > 0) {
                use.optional |= feature_mask(Feature::kUpdatePhases);
            }
        }
    }
    return use;
}

}  // namespace relay::stream
