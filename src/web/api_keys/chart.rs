//! The usage chart of the Usage page and of a key's page
//! (`usage_chart.html`): requests per day as stacked bars (allowed,
//! rejected) under a y-axis with values and dates, with a legend and the
//! same figures as a table; and rejection codes with their labels.
//!
//! The bars are drawn in a stretched SVG (`preserveAspectRatio="none"`), so
//! they fill the card at any width while the labels, which are HTML or
//! unstretched SVG, keep their size: a viewBox that scaled its text would
//! shrink it to a few pixels on a phone.

use chrono::NaiveDate;

use crate::domain::rejection::label_of_code;
use crate::service::usage_report::DailyUsage;

/// Width of one day in the plot's units; the plot is 100 high.
const DAY_WIDTH: i64 = 10;
/// At most this many dates are written under the bars.
const MAX_DATE_LABELS: i64 = 6;

/// One day's stacked bar, in the plot's units.
pub struct UsageBar {
    /// `2026-11-23`, in the bar's tooltip and the table.
    pub date: String,
    pub allowed: i64,
    pub rejected: i64,
    /// The rejections of the day by label, for the tooltip: "Address not
    /// allowed 3, Missing scope 1".
    pub rejected_detail: String,
    pub x: String,
    pub width: String,
    pub allowed_y: String,
    pub allowed_height: String,
    pub rejected_y: String,
    pub rejected_height: String,
}

/// A date written under the bars.
pub struct DateLabel {
    pub text: String,
    /// Percent of the plot's width.
    pub x: String,
    /// `start`, `middle` or `end`: labels at the edges stay inside.
    pub anchor: &'static str,
    /// Every other label, counting back from today: hidden on narrow
    /// screens, where all of them would run into each other.
    pub minor: bool,
}

/// A server-rendered bar chart of requests per day.
pub struct UsageChart {
    pub bars: Vec<UsageBar>,
    /// The y-axis values, top (the axis maximum) to bottom (0), one per
    /// quarter of the height.
    pub ticks: Vec<String>,
    pub dates: Vec<DateLabel>,
    /// The plot's width in its units.
    pub width: i64,
    /// Requests on the busiest day.
    pub max: i64,
    /// What the chart shows, for people who cannot see it.
    pub description: String,
}

impl UsageChart {
    pub fn of(days: &[DailyUsage]) -> Self {
        let max = days.iter().map(|d| d.allowed + d.rejected_total()).max().unwrap_or(0);
        let step = tick_step(max);
        let top = (step * 4) as f64;
        let height = |count: i64| count as f64 * 100.0 / top;
        let bars = days
            .iter()
            .zip(0..)
            .map(|(day, index)| {
                let rejected = day.rejected_total();
                let allowed_height = height(day.allowed);
                let rejected_height = height(rejected);
                UsageBar {
                    date: day.date.format("%Y-%m-%d").to_string(),
                    allowed: day.allowed,
                    rejected,
                    rejected_detail: day
                        .rejected
                        .iter()
                        .map(|(code, count)| format!("{} {count}", label_of_code(code).unwrap_or(code)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    x: format!("{}", index * DAY_WIDTH + 1),
                    width: format!("{}", DAY_WIDTH - 2),
                    allowed_y: units(100.0 - allowed_height),
                    allowed_height: units(allowed_height),
                    rejected_y: units(100.0 - allowed_height - rejected_height),
                    rejected_height: units(rejected_height),
                }
            })
            .collect::<Vec<_>>();
        let allowed: i64 = days.iter().map(|d| d.allowed).sum();
        let rejected: i64 = days.iter().map(DailyUsage::rejected_total).sum();
        let busiest = days
            .iter()
            .rev()
            .find(|d| max > 0 && d.allowed + d.rejected_total() == max)
            .map(|d| {
                format!(
                    " The busiest day, {}, had {}.",
                    d.date.format("%Y-%m-%d"),
                    thousands(max)
                )
            })
            .unwrap_or_default();
        Self {
            ticks: (0..=4).rev().map(|i| thousands(step * i)).collect(),
            dates: date_labels(&days.iter().map(|d| d.date).collect::<Vec<_>>()),
            width: bars.len() as i64 * DAY_WIDTH,
            description: format!(
                "Requests per day over {} days: {} allowed, {} rejected.{busiest}",
                days.len(),
                thousands(allowed),
                thousands(rejected)
            ),
            bars,
            max,
        }
    }
}

/// The value between two gridlines: the smallest of 1, 2, 2.5 and 5 times
/// a power of ten (whole numbers only) that fits `max` under four of them.
fn tick_step(max: i64) -> i64 {
    let mut power = 1_i64;
    loop {
        // For a power of 1, 2.5 rounds down to 2: no half requests.
        for step in [power, power * 2, power * 5 / 2, power * 5] {
            if step.saturating_mul(4) >= max {
                return step;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// A plot coordinate, to two decimals.
fn units(value: f64) -> String {
    format!("{value:.2}")
}

/// `12,345`.
pub fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 { format!("-{grouped}") } else { grouped }
}

/// Evenly spaced dates counted back from the last day, so today always has
/// its label: every day for a week, every few days for longer periods.
fn date_labels(dates: &[NaiveDate]) -> Vec<DateLabel> {
    let count = dates.len() as i64;
    let every = ((count + MAX_DATE_LABELS - 1) / MAX_DATE_LABELS).max(1);
    let mut labels: Vec<DateLabel> = (0..count)
        .rev()
        .step_by(every as usize)
        .zip(0..)
        .map(|(index, nth)| {
            let centre = (index as f64 + 0.5) * 100.0 / count as f64;
            let (x, anchor) = if index == count - 1 && count > 1 {
                (100.0, "end")
            } else if index == 0 && count > 1 {
                (0.0, "start")
            } else {
                (centre, "middle")
            };
            DateLabel {
                text: dates[index as usize].format("%b %-d").to_string(),
                x: format!("{x:.2}"),
                anchor,
                minor: nth % 2 == 1,
            }
        })
        .collect();
    labels.reverse();
    labels
}

/// A row of a "Rejections by reason" table.
pub struct RejectionLine {
    pub label: String,
    pub code: String,
    pub count: i64,
}

/// Rejection counts by code, labelled; a code this version does not know
/// is shown as it is.
pub fn rejection_lines(rejections: &[(String, i64)]) -> Vec<RejectionLine> {
    rejections
        .iter()
        .map(|(code, count)| RejectionLine {
            label: label_of_code(code).unwrap_or(code).to_owned(),
            code: code.clone(),
            count: *count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeDelta;

    use super::*;

    fn days(counts: &[(i64, i64)]) -> Vec<DailyUsage> {
        let first = NaiveDate::from_ymd_opt(2026, 9, 1).expect("a date");
        counts
            .iter()
            .zip(0..)
            .map(|(&(allowed, rejected), i)| DailyUsage {
                date: first + TimeDelta::days(i),
                allowed,
                rejected: if rejected > 0 {
                    BTreeMap::from([("ip_not_allowed".to_owned(), rejected)])
                } else {
                    BTreeMap::new()
                },
            })
            .collect()
    }

    #[test]
    fn the_y_axis_counts_in_round_steps_above_the_busiest_day() {
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(3), 1);
        assert_eq!(tick_step(5), 2);
        assert_eq!(tick_step(9), 5);
        assert_eq!(tick_step(40), 10);
        assert_eq!(tick_step(41), 20);
        assert_eq!(tick_step(95), 25);
        assert_eq!(tick_step(652), 200);
        assert_eq!(tick_step(1_000_000), 250_000);
        assert_eq!(tick_step(1_000_001), 500_000);
        let chart = UsageChart::of(&days(&[(30, 2), (50, 0)]));
        assert_eq!(chart.ticks, ["80", "60", "40", "20", "0"]);
        assert_eq!(chart.bars[1].allowed_height, "62.50");
        assert_eq!(chart.bars[0].rejected_y, "60.00");
        assert_eq!(chart.bars[0].rejected_detail, "Address not allowed 2");
        assert!(
            chart.description.contains("The busiest day, 2026-09-02, had 50."),
            "{}",
            chart.description
        );
    }

    #[test]
    fn ninety_days_get_six_dates_ending_today() {
        let chart = UsageChart::of(&days(&[(1, 0); 90]));
        let texts: Vec<&str> = chart.dates.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["Sep 15", "Sep 30", "Oct 15", "Oct 30", "Nov 14", "Nov 29"]);
        assert_eq!(chart.dates.last().map(|d| d.anchor), Some("end"));
        let narrow: Vec<&str> = chart
            .dates
            .iter()
            .filter(|d| !d.minor)
            .map(|d| d.text.as_str())
            .collect();
        assert_eq!(narrow, ["Sep 30", "Oct 30", "Nov 29"]);
        let week = UsageChart::of(&days(&[(1, 0); 7]));
        assert_eq!(week.dates.len(), 4);
        assert_eq!(week.dates[0].anchor, "start");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(47_185), "47,185");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn rejection_codes_are_shown_by_their_label() {
        let lines = rejection_lines(&[("ip_not_allowed".into(), 3), ("from_the_future".into(), 1)]);
        assert_eq!(lines[0].label, "Address not allowed");
        assert_eq!(lines[0].code, "ip_not_allowed");
        assert_eq!(lines[1].label, "from_the_future");
    }
}
