//! Timestamp encoding shared by all tables: fixed-width RFC 3339 in UTC with
//! microseconds, so that comparing the stored text compares the instants on
//! any SQL backend, independent of how a driver would encode a `DateTime`.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::StoreError;

/// Encodes `ts` for storage; sub-microsecond precision is dropped.
pub(crate) fn encode(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Decodes a stored timestamp of `table.column`.
pub(crate) fn decode(
    text: &str,
    table: &'static str,
    column: &'static str,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|ts| ts.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt { table, column })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn encoding_is_fixed_width_and_sorts_like_time() {
        let whole = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let frac = whole + chrono::Duration::microseconds(500_000);
        let later = whole + chrono::Duration::seconds(1);
        let (a, b, c) = (encode(&whole), encode(&frac), encode(&later));
        assert_eq!(a, "2024-05-01T12:00:00.000000Z");
        assert_eq!(a.len(), b.len());
        assert!(a < b && b < c);
    }

    #[test]
    fn round_trip_truncates_to_micros() {
        let ts = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(1_234_567);
        let back = decode(&encode(&ts), "t", "c").unwrap();
        assert_eq!(back.timestamp_micros(), ts.timestamp_micros());
        assert!(decode("yesterday", "t", "c").is_err());
    }
}
