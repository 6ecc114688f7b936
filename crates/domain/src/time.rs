//! keyCRM's timestamps: `2024-11-13T18:46:36.000000Z` in API documents and
//! `2024-05-28 09:34:10` in webhook bodies and filters, both UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses `2024-11-13T18:46:36.000000Z`, RFC 3339 with any offset, `2024-05-28 09:34:10`
/// (UTC, optionally with fractions) or a bare date (midnight UTC); anything else is `None`.
pub fn parse_keycrm_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_mean_the_same_utc_instant() {
        let iso = parse_keycrm_datetime("2024-11-13T18:46:36.000000Z").unwrap();
        assert_eq!(parse_keycrm_datetime("2024-11-13 18:46:36"), Some(iso));
        assert_eq!(
            parse_keycrm_datetime("2024-11-13T20:46:36+02:00"),
            Some(iso)
        );
        assert_eq!(
            parse_keycrm_datetime("2024-11-13").unwrap().to_rfc3339(),
            "2024-11-13T00:00:00+00:00"
        );
        assert_eq!(parse_keycrm_datetime(" "), None);
        assert_eq!(parse_keycrm_datetime("soon"), None);
    }
}
