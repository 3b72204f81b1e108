//! How instants are written for programs and auditors: RFC 3339 in UTC, to
//! the second (`2027-01-31T13:45:00Z`), and for people: `2027-01-31 13:45 UTC`.

use chrono::{NaiveDateTime, SecondsFormat};

/// `at` (UTC) as RFC 3339, to the second, with `Z`.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `at` (UTC) as the pages write it, to the minute: `2027-01-31 13:45 UTC`.
pub fn for_people(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_written_in_utc_to_the_second() {
        let at = chrono::NaiveDate::from_ymd_opt(2027, 1, 31)
            .and_then(|d| d.and_hms_micro_opt(13, 45, 7, 250))
            .expect("a date");
        assert_eq!(super::rfc3339(at), "2027-01-31T13:45:07Z");
    }
}
