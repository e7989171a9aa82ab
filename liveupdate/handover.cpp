#include "liveupdate/handover.hpp"

#include "lib/format.hpp"
#include "lib/strings.hpp"

namespace relay::liveupdate {

HandoverLayout::HandoverLayout(HostPhysRange region, HostPhysRange image)
    : region_(region), own_half_(-1) {
    for (int i = 0; i < 2; ++i) {
        if (half(i).contains(image.base())) {
            own_half_ = i;
        }
    }
}

HostPhysRange HandoverLayout::half(int index) const {
    return HostPhysRange::unchecked(region_.base() + static_cast<u64>(index) * half_size(),
                                    half_size());
}

HostPhysAddr HandoverLayout::purgatory_page(int index) const {
    return half(index).base() + (half_size() - kPageSize4K);
}

HostPhysRange HandoverLayout::info_area(int index) const {
    return HostPhysRange::unchecked(half(index).base() + (half_size() - kTailSize), kInfoSize / 2);
}

HostPhysRange HandoverLayout::fallback_info_area(int index) const {
    return HostPhysRange::unchecked(half(index).base() + (half_size() - kTailSize) + kInfoSize / 2,
                                    kInfoSize / 2);
}

HostPhysRange HandoverLayout::workspace(int index, u64 image_size) const {
    u64 start = align_up_unchecked(image_size, kPageSize4K);
    u64 end = half_size() - kTailSize;
    if (start > end) {
        start = end;
    }
    return HostPhysRange::unchecked(half(index).base() + start, end - start);
}

namespace {

bool parse_hex(std::string_view text, u64* out) {
    return text.size() > 2 && text[0] == '0' && text[1] == 'x' && parse_u64(text, out);
}

u64* tsc_field(std::string_view key, StreamModuleLine* line) {
    if (key == "quiesce_tsc") {
        return &line->quiesce_tsc;
    }
    if (key == "paused_tsc") {
        return &line->paused_tsc;
    }
    if (key == "serialized_tsc") {
        return &line->serialized_tsc;
    }
    if (key == "handover_tsc") {
        return &line->handover_tsc;
    }
    return nullptr;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Decodes %XX escapes into a NUL-terminated string (truncated to fit); false if malformed.
bool percent_decode(std::string_view text, char* out, usize capacity) {
    usize length = 0;
    for (usize i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) {
                return false;
            }
            int high = hex_digit(text[i + 1]);
            int low = hex_digit(text[i + 2]);
            if (high < 0 || low < 0) {
                return false;
            }
            c = static_cast<char>(high * 16 + low);
            i += 2;
        }
        if (c == '\0') {
            return false;
        }
        if (length + 1 < capacity) {
            out[length++] = c;
        }
    }
    if (capacity > 0) {
        out[length] = '\0';
    }
    return true;
}

}  // namespace

Result<bool> parse_stream_module_line(std::string_view command_line, StreamModuleLine* out) {
    // Words: the first that is exactly the tag (a launcher may put the file name first).
    usize position = 0;
    bool tagged = false;
    std::string_view word;
    while (next_word(command_line, &position, &word)) {
        if (word == kStreamModuleTag) {
            tagged = true;
            continue;
        }
        if (!tagged) {
            continue;
        }
        usize equals = word.find('=');
        if (equals == std::string_view::npos) {
            return make_error(ErrorCode::kCorrupt, "stream module: '{}' is not key=value", word);
        }
        std::string_view key = prefix_of(word, equals);
        std::string_view value = suffix_from(word, equals + 1);
        if (key == "kind") {
            char kind[16] = {};
            copy_string(value, kind, sizeof(kind));
            if (!stream::parse_stream_kind(kind, &out->kind)) {
                return make_error(ErrorCode::kCorrupt, "stream module: unknown kind '{}'", value);
            }
        } else if (u64* tsc = tsc_field(key, out); tsc != nullptr) {
            if (!parse_hex(value, tsc)) {
                return make_error(ErrorCode::kCorrupt, "stream module: {} '{}' is not hex", key,
                                  value);
            }
        } else if (key == "apic_ticks_per_ms") {
            u64 ticks = 0;
            if (!parse_hex(value, &ticks) || ticks > 0xFFFFFFFF) {
                return make_error(ErrorCode::kCorrupt,
                                  "stream module: apic_ticks_per_ms '{}' is not hex", value);
            }
            // The scheduler tick is ticks_per_ms local APIC timer counts: too few and the
            // tick interrupt would leave no time for anything else.
            if (ticks < kMinApicTicksPerMs || ticks > kMaxApicTicksPerMs) {
                return make_error(ErrorCode::kCorrupt,
                                  "stream module: apic_ticks_per_ms {:#x} is outside {:#x} to "
                                  "{:#x} (a local APIC timer of 1 MHz to 10 GHz)",
                                  ticks, kMinApicTicksPerMs, kMaxApicTicksPerMs);
            }
            out->apic_ticks_per_ms = static_cast<u32>(ticks);
        } else if (key == "initiator") {
            usize dot = value.find('.');
            u64 domid = 0;
            u64 vcpu = 0;
            if (dot == std::string_view::npos || !parse_u64(prefix_of(value, dot), &domid) ||
                !parse_u64(suffix_from(value, dot + 1), &vcpu) || domid > 0xFFFF || vcpu > 0xFFFF) {
                return make_error(ErrorCode::kCorrupt, "stream module: initiator '{}' is not D.V",
                                  value);
            }
            out->initiator_domid = static_cast<u16>(domid);
            out->initiator_vcpu = static_cast<u32>(vcpu);
            out->has_initiator = true;
        } else if (key == "previous") {
            u64 parts[3] = {};
            std::string_view rest = value;
            for (int i = 0; i < 3; ++i) {
                usize comma = rest.find(',');
                std::string_view part =
                    comma == std::string_view::npos ? rest : prefix_of(rest, comma);
                if (!parse_hex(part, &parts[i]) || (i < 2 && comma == std::string_view::npos)) {
                    return make_error(ErrorCode::kCorrupt,
                                      "stream module: previous '{}' is not BASE,ENTRY_OFFSET,SIZE",
                                      value);
                }
                rest = comma == std::string_view::npos ? std::string_view()
                                                       : suffix_from(rest, comma + 1);
            }
            out->previous_base = HostPhysAddr(parts[0]);
            out->previous_entry_offset = parts[1];
            out->previous_size = parts[2];
        } else if (key == "reason") {
            if (!percent_decode(value, out->reason, sizeof(out->reason))) {
                return make_error(ErrorCode::kCorrupt,
                                  "stream module: reason '{}' is not percent-encoded text", value);
            }
        }
        // Other keys come from a newer producer: ignored.
    }
    return tagged;
}

usize format_stream_module_line(const StreamModuleLine& line, char* buffer, usize capacity) {
    FormatBuffer out(buffer, capacity);
    format(out,
           "{} kind={} quiesce_tsc={:#x} paused_tsc={:#x} serialized_tsc={:#x} handover_tsc={:#x}",
           kStreamModuleTag, stream::stream_kind_name(line.kind), line.quiesce_tsc, line.paused_tsc,
           line.serialized_tsc, line.handover_tsc);
    if (line.apic_ticks_per_ms >= kMinApicTicksPerMs &&
        line.apic_ticks_per_ms <= kMaxApicTicksPerMs) {
        format(out, " apic_ticks_per_ms={:#x}", line.apic_ticks_per_ms);
    }
    if (line.has_initiator) {
        format(out, " initiator={}.{}", line.initiator_domid, line.initiator_vcpu);
    }
    if (line.previous_size != 0) {
        format(out, " previous={:#x},{:#x},{:#x}", line.previous_base.raw(),
               line.previous_entry_offset, line.previous_size);
    }
    if (line.reason[0] != '\0') {
        format(out, " reason=");
        for (const char* c = line.reason; *c != '\0'; ++c) {
            u8 byte = static_cast<u8>(*c);
            if (out.length() + 3 >= capacity) {
                break;  // a cut escape would make the whole line unreadable
            }
            if (byte <= ' ' || byte == '%' || byte >= 0x7F) {
                format(out, "%{:02X}", byte);
            } else {
                format(out, "{}", *c);
            }
        }
    }
    return out.length();
}

}  // namespace relay::liveupdate
