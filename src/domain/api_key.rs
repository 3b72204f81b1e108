//! A key's name, its expiry and its computed status.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::ValidationError;

/// 1–100 characters, trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new(
                "Enter a name that says what the key is for, e.g. \"Flight sync integration\".",
            ));
        }
        let length = name.chars().count();
        if length > Self::MAX_LEN {
            return Err(ValidationError::new(format!(
                "The name is {length} characters long; use at most {}.",
                Self::MAX_LEN
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "The name cannot contain line breaks or other control characters.",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness is checked on: names that differ only in case
    /// (Unicode lowercase, the same on both backends) are the same name.
    pub fn folded(&self) -> String {
        Self::fold(&self.0)
    }

    pub fn fold(name: &str) -> String {
        name.to_lowercase()
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When a key stops working: an instant in UTC, in the future when set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry(DateTime<Utc>);

impl Expiry {
    /// Parses what a person or program typed, relative to `now`:
    /// - blank: never expires (`None`);
    /// - `YYYY-MM-DD`: 00:00:00 UTC of that date ("stops working at midnight UTC");
    /// - `YYYY-MM-DDTHH:MM[:SS]` (a browser's date-time field): that time in UTC;
    /// - RFC 3339 with an offset: that instant.
    pub fn parse(raw: &str, now: DateTime<Utc>) -> Result<Option<Self>, ValidationError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let instant = if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            date.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
        } else if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            Some(at.with_timezone(&Utc))
        } else {
            [
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%d %H:%M:%S",
            ]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
            .map(|t| t.and_utc())
        };
        let Some(instant) = instant else {
            return Err(ValidationError::new(format!(
                "\"{raw}\" is not a date: use YYYY-MM-DD (e.g. 2027-01-31) or YYYY-MM-DDTHH:MM in UTC."
            )));
        };
        Self::checked(instant, now).map(Some)
    }

    /// `instant` as an expiry: before the year 10000 and after `now`.
    fn checked(instant: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        if instant.format("%Y").to_string().len() > 4 {
            return Err(ValidationError::new("Choose a date before the year 10000."));
        }
        if instant <= now {
            return Err(ValidationError::new(format!(
                "{} UTC is not in the future. Choose a later date, or leave it blank for a key that never expires.",
                instant.format("%Y-%m-%d %H:%M")
            )));
        }
        Ok(Self(instant))
    }

    /// The API's reading: exactly an RFC 3339 `full-date` (00:00:00 UTC of
    /// that date) or `date-time` (`T` between date and time, an offset or
    /// `Z`), in the future; nothing else, blank included (JSON's `null` is
    /// "never").
    pub fn parse_rfc3339(raw: &str, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let bytes = raw.as_bytes();
        let full_date = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        // chrono also reads a space between date and time; RFC 3339's
        // `date-time` (and JSON Schema's format) has a `T`.
        let date_time = bytes.len() > 10 && matches!(bytes[10], b'T' | b't');
        let instant = if full_date {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        } else if date_time {
            DateTime::parse_from_rfc3339(raw).ok().map(|at| at.with_timezone(&Utc))
        } else {
            None
        };
        let Some(instant) = instant else {
            return Err(ValidationError::new(format!(
                "{raw:?} is not an RFC 3339 date or date-time: use e.g. 2027-01-31 or 2027-01-31T12:00:00Z, or null for never."
            )));
        };
        Self::checked(instant, now)
    }

    pub fn at(self) -> DateTime<Utc> {
        self.0
    }

    pub fn naive_utc(self) -> NaiveDateTime {
        self.0.naive_utc()
    }

    /// An expiry already accepted once (stored), kept as it is.
    pub fn at_instant(at: DateTime<Utc>) -> Self {
        Self(at)
    }

    /// `now + days`, at the same time of day.
    pub fn in_days(now: DateTime<Utc>, days: i64) -> Self {
        Self(now + TimeDelta::days(days))
    }
}

/// A key's state, computed from its row and the clock in this precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    Revoked,
    Expired,
    Disabled,
    Active,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 4] = [
        KeyStatus::Active,
        KeyStatus::Disabled,
        KeyStatus::Expired,
        KeyStatus::Revoked,
    ];

    pub fn of(
        revoked_at: Option<NaiveDateTime>,
        expires_at: Option<NaiveDateTime>,
        enabled: bool,
        now: NaiveDateTime,
    ) -> Self {
        if revoked_at.is_some() {
            KeyStatus::Revoked
        } else if expires_at.is_some_and(|at| at <= now) {
            KeyStatus::Expired
        } else if !enabled {
            KeyStatus::Disabled
        } else {
            KeyStatus::Active
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Disabled => "Disabled",
            KeyStatus::Expired => "Expired",
            KeyStatus::Revoked => "Revoked",
        }
    }

    /// The spelling in URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// "expires in 3 days" when a live key's expiry is within a week.
pub fn expiry_warning(expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> Option<String> {
    time_left(expires_at?, now).map(|left| format!("expires {left}"))
}

/// "in 3 days", "in 5 hours", "within the hour" until `at`, when that is
/// within a week (whole days and hours, rounded down): the row's hint and
/// the list's banner say the same.
pub fn time_left(at: NaiveDateTime, now: NaiveDateTime) -> Option<String> {
    let left = at - now;
    if left <= TimeDelta::zero() || left > TimeDelta::days(7) {
        return None;
    }
    let hours = left.num_hours();
    Some(if hours < 1 {
        "within the hour".to_owned()
    } else if hours < 24 {
        format!("in {hours} hour{}", if hours == 1 { "" } else { "s" })
    } else {
        let days = left.num_days();
        format!("in {days} day{}", if days == 1 { "" } else { "s" })
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 0).single().expect("valid")
    }

    #[test]
    fn the_api_reads_exactly_an_rfc_3339_date_or_date_time() {
        let at = |raw| Expiry::parse_rfc3339(raw, now()).map(|e| e.at().to_rfc3339());
        assert_eq!(at("2027-01-31"), Ok("2027-01-31T00:00:00+00:00".into()));
        assert_eq!(at("2027-01-31T12:00:00+01:00"), Ok("2027-01-31T11:00:00+00:00".into()));
        assert_eq!(at("2027-01-31t12:00:00z"), Ok("2027-01-31T12:00:00+00:00".into()));
        for refused in [
            "",
            " 2027-01-31",
            "2027-1-31",
            "2027-01-31 12:00:00Z",
            "2027-01-31T12:00",
            "2027-01-31T12:00:00",
            "2001-01-01",
            "9999-12-31T23:00:00-05:00",
        ] {
            assert!(at(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            KeyName::parse("  Flight sync ").map(|n| n.to_string()),
            Ok("Flight sync".into())
        );
        assert!(KeyName::parse("").is_err());
        assert!(KeyName::parse("     ").is_err());
        assert!(KeyName::parse(&"x".repeat(101)).is_err());
        assert!(KeyName::parse(&"é".repeat(100)).is_ok());
        assert!(KeyName::parse("a\nb").is_err());
    }

    #[test]
    fn a_date_means_midnight_utc() {
        let expiry = Expiry::parse("2027-01-31", now()).expect("valid").expect("set");
        assert_eq!(expiry.at().to_rfc3339(), "2027-01-31T00:00:00+00:00");
        let expiry = Expiry::parse("2027-01-31T13:45", now()).expect("valid").expect("set");
        assert_eq!(expiry.at().to_rfc3339(), "2027-01-31T13:45:00+00:00");
        let expiry = Expiry::parse("2027-01-31T13:45:00+02:00", now())
            .expect("valid")
            .expect("set");
        assert_eq!(expiry.at().to_rfc3339(), "2027-01-31T11:45:00+00:00");
        assert_eq!(Expiry::parse("  ", now()), Ok(None));
    }

    #[test]
    fn past_and_absurd_expiries_are_refused() {
        assert!(Expiry::parse("2020-01-01", now()).is_err());
        assert!(
            Expiry::parse("2026-11-23", now()).is_err(),
            "today at midnight has passed"
        );
        assert!(
            Expiry::parse("2026-11-23T09:00", now()).is_err(),
            "today at a past time"
        );
        assert!(Expiry::parse("10000-01-01", now()).is_err());
        assert!(Expiry::parse("31/01/2027", now()).is_err());
        assert!(Expiry::parse("2027-02-30", now()).is_err());
    }

    #[test]
    fn status_follows_its_precedence() {
        let now = now().naive_utc();
        let past = Some(now - TimeDelta::hours(1));
        let future = Some(now + TimeDelta::hours(1));
        assert_eq!(KeyStatus::of(past, past, false, now), KeyStatus::Revoked);
        assert_eq!(KeyStatus::of(None, past, false, now), KeyStatus::Expired);
        assert_eq!(
            KeyStatus::of(None, Some(now), true, now),
            KeyStatus::Expired,
            "expiry is inclusive"
        );
        assert_eq!(KeyStatus::of(None, future, false, now), KeyStatus::Disabled);
        assert_eq!(KeyStatus::of(None, future, true, now), KeyStatus::Active);
        assert_eq!(KeyStatus::of(None, None, true, now), KeyStatus::Active);
    }

    #[test]
    fn close_expiries_are_announced() {
        let now = now().naive_utc();
        assert_eq!(
            expiry_warning(Some(now + TimeDelta::days(3)), now).as_deref(),
            Some("expires in 3 days")
        );
        assert_eq!(
            expiry_warning(Some(now + TimeDelta::hours(5)), now).as_deref(),
            Some("expires in 5 hours")
        );
        assert_eq!(expiry_warning(Some(now + TimeDelta::days(30)), now), None);
        assert_eq!(expiry_warning(None, now), None);
    }
}
