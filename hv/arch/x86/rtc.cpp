#include "hv/arch/x86/rtc.hpp"

#include "hv/arch/x86/cpu.hpp"

namespace relay::x86 {

namespace {

u8 read_register(u8 index) {
    outb(0x70, index);
    return inb(0x71);
}

u32 from_bcd(u8 value) {
    return (value & 0x0F) + (value >> 4) * 10;
}

// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
u64 days_from_civil(u32 year, u32 month, u32 day) {
    year -= month <= 2 ? 1 : 0;
    u32 era = year / 400;
    u32 year_of_era = year - era * 400;
    u32 day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    u32 day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return static_cast<u64>(era) * 146097 + day_of_era - 719468;
}

}  // namespace

u64 read_rtc_unix_seconds() {
    // Wait for no update in progress (register A bit 7), bounded.
    for (int i = 0; i < 100000 && (read_register(0x0A) & 0x80) != 0; ++i) {
        cpu_relax();
    }
    u8 second = read_register(0x00);
    u8 minute = read_register(0x02);
    u8 hour = read_register(0x04);
    u8 day = read_register(0x07);
    u8 month = read_register(0x08);
    u8 year = read_register(0x09);
    u8 century = read_register(0x32);
    u8 status_b = read_register(0x0B);
    bool binary = (status_b & 0x04) != 0;
    bool twenty_four = (status_b & 0x02) != 0;
    bool pm = (hour & 0x80) != 0;
    hour &= 0x7F;
    u32 s = binary ? second : from_bcd(second);
    u32 m = binary ? minute : from_bcd(minute);
    u32 h = binary ? hour : from_bcd(hour);
    u32 d = binary ? day : from_bcd(day);
    u32 mo = binary ? month : from_bcd(month);
    u32 y = binary ? year : from_bcd(year);
    u32 c = binary ? century : from_bcd(century);
    if (!twenty_four) {
        h = (h % 12) + (pm ? 12 : 0);
    }
    u32 full_year = (c >= 19 && c <= 30 ? c : 20) * 100 + y;
    if (s > 59 || m > 59 || h > 23 || d < 1 || d > 31 || mo < 1 || mo > 12 || full_year < 2000) {
        return 0;
    }
    return days_from_civil(full_year, mo, d) * 86400 + h * 3600 + m * 60 + s;
}

}  // namespace relay::x86
