//! Usage figures from the hourly buckets: per day, per key and per rejection
//! code. One aggregation for the backoffice pages and the API.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

/// One hourly bucket as stored: (api key id, hour, outcome, count).
pub type Bucket = (String, NaiveDateTime, String, i64);

/// The requests of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyUsage {
    pub date: NaiveDate,
    pub allowed: i64,
    /// Rejected requests by code.
    pub rejected: BTreeMap<String, i64>,
}

impl DailyUsage {
    pub fn rejected_total(&self) -> i64 {
        self.rejected.values().sum()
    }
}

/// The requests of one key over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTotals {
    pub api_key_id: String,
    pub allowed: i64,
    pub rejected: i64,
}

impl KeyTotals {
    pub fn total(&self) -> i64 {
        self.allowed + self.rejected
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// Every day of the period, oldest first, days without requests included.
    pub days: Vec<DailyUsage>,
    /// Keys with requests, most requests first.
    pub keys: Vec<KeyTotals>,
    /// Rejections by code, most first.
    pub rejections: Vec<(String, i64)>,
}

impl UsageReport {
    /// The `days` days starting at `first_day`; buckets outside are ignored.
    pub fn from_buckets(first_day: NaiveDate, days: i64, buckets: impl IntoIterator<Item = Bucket>) -> Self {
        let mut by_day: Vec<DailyUsage> = (0..days)
            .map(|d| DailyUsage {
                date: first_day + TimeDelta::days(d),
                allowed: 0,
                rejected: BTreeMap::new(),
            })
            .collect();
        let mut by_key: HashMap<String, KeyTotals> = HashMap::new();
        let mut rejections: HashMap<String, i64> = HashMap::new();
        for (api_key_id, hour, outcome, count) in buckets {
            let Some(day) = usize::try_from((hour.date() - first_day).num_days())
                .ok()
                .and_then(|d| by_day.get_mut(d))
            else {
                continue;
            };
            let key = by_key.entry(api_key_id.clone()).or_insert_with(|| KeyTotals {
                api_key_id,
                allowed: 0,
                rejected: 0,
            });
            if outcome == "allowed" {
                day.allowed += count;
                key.allowed += count;
            } else {
                *day.rejected.entry(outcome.clone()).or_default() += count;
                key.rejected += count;
                *rejections.entry(outcome).or_default() += count;
            }
        }
        let mut keys: Vec<KeyTotals> = by_key.into_values().collect();
        keys.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.api_key_id.cmp(&b.api_key_id)));
        let mut rejections: Vec<(String, i64)> = rejections.into_iter().collect();
        rejections.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self {
            days: by_day,
            keys,
            rejections,
        }
    }

    pub fn allowed_total(&self) -> i64 {
        self.days.iter().map(|d| d.allowed).sum()
    }

    pub fn rejected_total(&self) -> i64 {
        self.rejections.iter().map(|(_, n)| n).sum()
    }
}

/// Each key's days (allowed and rejected apart), oldest first, over the
/// `days` days from `first_day`; keys without requests are absent. The same
/// aggregation as the report, per key.
pub fn daily_totals_by_key(
    first_day: NaiveDate,
    days: i64,
    buckets: impl IntoIterator<Item = Bucket>,
) -> HashMap<String, Vec<DailyUsage>> {
    let mut per_key: HashMap<String, Vec<Bucket>> = HashMap::new();
    for bucket in buckets {
        per_key.entry(bucket.0.clone()).or_default().push(bucket);
    }
    per_key
        .into_iter()
        .map(|(id, buckets)| {
            let report = UsageReport::from_buckets(first_day, days, buckets);
            (id, report.days)
        })
        .collect()
}

/// The start of the first of the last `days` days (UTC) before `now`,
/// today included.
pub fn period_start(now: NaiveDateTime, days: i64) -> (NaiveDate, NaiveDateTime) {
    // Checked: `days` comes from a request (bounded there, but never trusted to be).
    let first_day = TimeDelta::try_days(days.saturating_sub(1))
        .and_then(|back| now.date().checked_sub_signed(back))
        .unwrap_or(NaiveDate::MIN);
    (first_day, first_day.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("time")
    }

    #[test]
    fn buckets_add_up_per_day_key_and_code() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
        let report = UsageReport::from_buckets(
            first,
            3,
            [
                ("k1".into(), at("2026-11-21 10:00"), "allowed".into(), 5),
                ("k1".into(), at("2026-11-21 11:00"), "allowed".into(), 2),
                ("k2".into(), at("2026-11-23 09:00"), "ip_not_allowed".into(), 4),
                ("k2".into(), at("2026-11-23 09:00"), "allowed".into(), 1),
                ("k1".into(), at("2026-11-20 23:00"), "allowed".into(), 100),
                ("k1".into(), at("2026-11-24 00:00"), "allowed".into(), 100),
            ],
        );
        assert_eq!(report.days.len(), 3, "every day of the period, empty ones too");
        assert_eq!(report.days[0].allowed, 7);
        assert_eq!(report.days[1].allowed, 0);
        assert_eq!(report.days[2].rejected_total(), 4);
        assert_eq!(report.allowed_total(), 8, "buckets outside the period are left out");
        assert_eq!(report.rejected_total(), 4);
        assert_eq!(report.keys[0].api_key_id, "k1");
        assert_eq!(report.keys[0].total(), 7);
        assert_eq!(report.keys[1].rejected, 4);
        assert_eq!(report.rejections, vec![("ip_not_allowed".to_owned(), 4)]);
    }

    #[test]
    fn daily_totals_keep_allowed_and_rejected_apart_per_key() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
        let totals = daily_totals_by_key(
            first,
            2,
            [
                ("k1".into(), at("2026-11-21 10:00"), "allowed".into(), 5),
                ("k1".into(), at("2026-11-22 10:00"), "key_disabled".into(), 3),
                ("k2".into(), at("2026-11-22 23:00"), "allowed".into(), 1),
                ("k2".into(), at("2026-11-23 00:00"), "allowed".into(), 9),
            ],
        );
        let apart =
            |key: &str| -> Vec<(i64, i64)> { totals[key].iter().map(|d| (d.allowed, d.rejected_total())).collect() };
        assert_eq!(apart("k1"), [(5, 0), (0, 3)]);
        assert_eq!(apart("k2"), [(0, 0), (1, 0)], "the day after the period is left out");
    }
}
