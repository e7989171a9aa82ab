#include "hv/domain.hpp"

#include <cstring>
#include <new>

#include "hv/console.hpp"
#include "hv/memory/layout.hpp"

namespace relay {

namespace {
Domain domain_table[kMaxDomains];
bool slot_used[kMaxDomains];
Spinlock table_lock;
}  // namespace

const char* lifecycle_name(DomainLifecycle lifecycle) {
    switch (lifecycle) {
        case DomainLifecycle::kConfigured:
            return "configured";
        case DomainLifecycle::kRunning:
            return "running";
        case DomainLifecycle::kPaused:
            return "paused";
        case DomainLifecycle::kCrashed:
            return "crashed";
        case DomainLifecycle::kShutDown:
            return "shut down";
    }
    return "?";
}

bool Domain::is_control() const {
    return (permissions & 1u) != 0;
}

std::string_view Domain::name_view() const {
    return std::string_view(name, strnlen(name, sizeof(name)));
}

const GuestMemoryExtent* Domain::extent_for(GuestPhysAddr address) const {
    // Extents are sorted by guest address: binary search.
    usize low = 0;
    usize high = extent_count;
    while (low < high) {
        usize middle = low + (high - low) / 2;
        const GuestMemoryExtent& e = extents[middle];
        if (address < e.guest) {
            high = middle;
        } else if (address - e.guest >= e.size) {
            low = middle + 1;
        } else {
            return &e;
        }
    }
    return nullptr;
}

template <typename Visit>
Status Domain::for_each_piece(GuestPhysAddr address, u64 length, Visit&& visit) const {
    if (!range_is_ram(address, length)) {
        return make_error(ErrorCode::kOutOfRange,
                          "guest range {:#x}+{:#x} is not inside domain {}'s RAM", address.raw(),
                          length, domid);
    }
    u64 done = 0;
    while (done < length) {
        GuestPhysAddr here = address + done;
        const GuestMemoryExtent* e = extent_for(here);
        u64 offset = here - e->guest;
        u64 chunk = e->size - offset;
        if (chunk > length - done) {
            chunk = length - done;
        }
        visit(phys_to_virt<u8>(e->host + offset), done, chunk);
        done += chunk;
    }
    return ok_status();
}

bool Domain::range_is_ram(GuestPhysAddr address, u64 length) const {
    if (length == 0) {
        return extent_for(address) != nullptr;
    }
    if (!address.can_add(length - 1)) {
        return false;
    }
    u64 done = 0;
    while (done < length) {
        const GuestMemoryExtent* e = extent_for(address + done);
        if (e == nullptr || (e->attributes & extent::kRam) != extent::kRam) {
            return false;
        }
        done += e->size - ((address + done) - e->guest);
    }
    return true;
}

Status Domain::copy_from_guest(void* destination, GuestPhysAddr source, u64 length) const {
    u8* out = static_cast<u8*>(destination);
    return for_each_piece(source, length, [&](u8* host, u64 done, u64 chunk) {
        std::memcpy(out + done, host, chunk);
    });
}

Status Domain::copy_to_guest(GuestPhysAddr destination, const void* source, u64 length) {
    const u8* in = static_cast<const u8*>(source);
    return for_each_piece(destination, length, [&](u8* host, u64 done, u64 chunk) {
        std::memcpy(host, in + done, chunk);
    });
}

Status Domain::zero_guest(GuestPhysAddr destination, u64 length) {
    return for_each_piece(destination, length,
                          [&](u8* host, u64, u64 chunk) { std::memset(host, 0, chunk); });
}

void Domain::write_line(std::string_view line) {
    char prefix[16];
    format_to_buffer(prefix, sizeof(prefix), "(d{}) ", domid);
    console::write_line(prefix, line);
}

Domain* domain_find(u16 domid) {
    SpinlockGuard guard(table_lock);
    for (usize i = 0; i < kMaxDomains; ++i) {
        if (slot_used[i] && domain_table[i].domid == domid) {
            return &domain_table[i];
        }
    }
    return nullptr;
}

Result<Domain*> domain_create_slot(u16 domid) {
    SpinlockGuard guard(table_lock);
    usize free_slot = kMaxDomains;
    for (usize i = 0; i < kMaxDomains; ++i) {
        if (slot_used[i] && domain_table[i].domid == domid) {
            return make_error(ErrorCode::kAlreadyExists, "domain {} already exists", domid);
        }
        if (!slot_used[i] && free_slot == kMaxDomains) {
            free_slot = i;
        }
    }
    if (free_slot == kMaxDomains) {
        return make_error(ErrorCode::kOutOfMemory, "all {} domain slots are in use", kMaxDomains);
    }
    Domain& domain = domain_table[free_slot];
    domain.~Domain();
    new (&domain) Domain();
    domain.domid = domid;
    slot_used[free_slot] = true;
    return &domain;
}

void domain_release_slot(Domain* domain) {
    SpinlockGuard guard(table_lock);
    for (usize i = 0; i < kMaxDomains; ++i) {
        if (&domain_table[i] == domain) {
            slot_used[i] = false;
        }
    }
}

usize domain_count() {
    SpinlockGuard guard(table_lock);
    usize count = 0;
    for (bool used : slot_used) {
        count += used ? 1 : 0;
    }
    return count;
}

Domain* domain_slot(usize index) {
    return &domain_table[index];
}
bool domain_slot_used(usize index) {
    return slot_used[index];
}

}  // namespace relay
