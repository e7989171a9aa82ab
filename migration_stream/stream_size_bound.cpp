#include "migration_stream/stream_size_bound.hpp"

#include "migration_stream/stream_writer.hpp"

namespace relay::stream {
namespace {

constexpr usize kSaturated = ~usize{0};

class SaturatingSum {
public:
    void add(usize count, usize each) {
        usize product = 0;
        if (__builtin_mul_overflow(count, each, &product) ||
            __builtin_add_overflow(total_, product, &total_)) {
            total_ = kSaturated;
        }
    }
    usize total() const { return total_; }

private:
    usize total_ = 0;
};

}  // namespace

usize stream_size_bound(const StreamShape& shape) {
    using namespace size_bound;
    SaturatingSum sum;
    sum.add(1, kHostState + kFinishReserveBytes);
    sum.add(shape.domains, kPerDomain);
    sum.add(shape.vcpus, kPerVcpu);
    sum.add(shape.extents, kPerExtent);
    sum.add(shape.preserved_ranges, kPerPreservedRange);
    sum.add(shape.boot_modules, kPerBootModule);
    sum.add(shape.iommu_units, kPerIommuUnit);
    sum.add(shape.iommu_assignments, kPerIommuAssignment);
    sum.add(shape.iommu_table_frames, kPerIommuTableFrame);
    sum.add(shape.update_records, kPerUpdateRecord);
    sum.add(shape.update_phases, kPerUpdatePhase);
    sum.add(shape.mtrr_variable_ranges, kPerMtrrVariableRange);
    sum.add(1, shape.string_bytes);
    sum.add(1, shape.byte_vector_bytes);
    return sum.total();
}

}  // namespace relay::stream
