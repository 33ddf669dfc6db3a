//! Formatting instants for people: in the event's zone, with its label,
//! in the viewer's language, e.g. "Sat, 5 Dec 2026 19:30 WIB" or
//! "Sab, 5 Des 2026 19.30 WIB".

use jiff::{Timestamp as JiffTs, tz::TimeZone};

use crate::domain::{Timestamp, money::Lang};

const DAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const DAYS_ID: [&str; 7] = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_ID: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
];

/// Whether `zone` is an IANA time zone admit knows.
pub fn is_known_zone(zone: &str) -> bool {
    TimeZone::get(zone).is_ok()
}

/// Formats `at` in `zone` (falling back to UTC for an unknown zone).
pub fn when(at: Timestamp, zone: &str, lang: Lang) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let Ok(ts) = JiffTs::from_millisecond(at.as_millis()) else {
        return String::new();
    };
    let z = ts.to_zoned(tz);
    let day = (z.weekday().to_monday_zero_offset()) as usize;
    let month = (z.month() - 1) as usize;
    let label = zone_label(&z.strftime("%Z").to_string(), z.offset().seconds());
    match lang {
        Lang::En => format!(
            "{}, {} {} {} {:02}:{:02} {}",
            DAYS_EN[day],
            z.day(),
            MONTHS_EN[month],
            z.year(),
            z.hour(),
            z.minute(),
            label
        ),
        Lang::Id => format!(
            "{}, {} {} {} {:02}.{:02} {}",
            DAYS_ID[day],
            z.day(),
            MONTHS_ID[month],
            z.year(),
            z.hour(),
            z.minute(),
            label
        ),
    }
}

/// The time of day of `at` in `zone` ("19:42"; "19.42" in Indonesian).
pub fn time_of_day(at: Timestamp, zone: &str, lang: Lang) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let Ok(ts) = JiffTs::from_millisecond(at.as_millis()) else {
        return String::new();
    };
    let z = ts.to_zoned(tz);
    match lang {
        Lang::En => format!("{:02}:{:02}", z.hour(), z.minute()),
        Lang::Id => format!("{:02}.{:02}", z.hour(), z.minute()),
    }
}

/// The zone's abbreviation (WIB, CET…), or `GMT+8` where the database only
/// has a numeric one.
fn zone_label(abbrev: &str, offset_secs: i32) -> String {
    if abbrev.starts_with(['+', '-']) || abbrev.is_empty() {
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let abs = offset_secs.unsigned_abs();
        let (h, m) = (abs / 3600, (abs % 3600) / 60);
        if m == 0 {
            format!("GMT{sign}{h}")
        } else {
            format!("GMT{sign}{h}:{m:02}")
        }
    } else {
        abbrev.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-05 12:30 UTC is 19:30 in Jakarta (WIB, UTC+7), a Saturday.
    const AT: Timestamp = Timestamp::from_millis(1_796_473_800_000);

    #[test]
    fn jakarta_time_has_its_label_in_both_languages() {
        assert_eq!(
            when(AT, "Asia/Jakarta", Lang::En),
            "Sat, 5 Dec 2026 19:30 WIB"
        );
        assert_eq!(
            when(AT, "Asia/Jakarta", Lang::Id),
            "Sab, 5 Des 2026 19.30 WIB"
        );
    }

    #[test]
    fn other_zones_get_their_own_time_and_label() {
        assert_eq!(
            when(AT, "Asia/Makassar", Lang::En),
            "Sat, 5 Dec 2026 20:30 WITA"
        );
        assert_eq!(
            when(AT, "Asia/Singapore", Lang::En),
            "Sat, 5 Dec 2026 20:30 GMT+8"
        );
    }
}
