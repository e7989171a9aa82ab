#include "iommu/iommu.hpp"

namespace relay::iommu {

const char* event_kind_name(EventKind kind) {
    switch (kind) {
        case EventKind::kDmaFault:
            return "DMA fault";
        case EventKind::kDeviceTableError:
            return "device table error";
        case EventKind::kHardwareError:
            return "hardware error";
        case EventKind::kCommandError:
            return "command error";
        case EventKind::kLogOverflow:
            return "event log overflow";
        case EventKind::kOther:
            break;
    }
    return "other";
}

usize IommuState::preserved_ranges(HostPhysRange* out, usize capacity) const {
    const HostPhysRange* all[] = {&root_table, &command_queue, &event_log, &completion_store};
    usize count = 0;
    for (const HostPhysRange* range : all) {
        if (!range->empty() && count < capacity) {
            out[count++] = *range;
        }
    }
    return count;
}

}  // namespace relay::iommu
