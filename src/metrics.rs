//! The instance's own metrics, rendered at `GET /metrics` in the Prometheus
//! text format (`web::metrics` serves them). One `Metrics` per running
//! application, never a process-wide recorder: two instances in one process
//! (the tests) keep their figures apart.
//!
//! The hot path stays cheap: every series it touches is registered before
//! it is needed, so counting is an atomic add on a handle, with no label
//! built, hashed or allocated per request. The one exception is a request's
//! first answer with a given route and status, which registers that series
//! once. No label ever holds a key, a key id or a raw path.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder as _, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::domain::rejection::KeyRejection;

/// The `Content-Type` of the rendered text (the exposition format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const REQUESTS: &str = "keyward_http_requests_total";
const KEY_CHECKS: &str = "keyward_key_checks_total";
const CACHE_LOOKUPS: &str = "keyward_key_cache_lookups_total";
const CACHE_ENTRIES: &str = "keyward_key_cache_entries";
const FLUSH_SECONDS: &str = "keyward_usage_flush_duration_seconds";
const FLUSH_ROWS: &str = "keyward_usage_flush_rows_total";
const FLUSH_FAILURES: &str = "keyward_usage_flush_failures_total";
const CHANGE_LAG: &str = "keyward_key_change_lag_seconds";
const LISTENER_CONNECTED: &str = "keyward_key_change_listener_connected";
const LISTENER_LOSSES: &str = "keyward_key_change_listener_losses_total";
const POOL_WAIT: &str = "keyward_db_pool_wait_seconds";
const POOL_TIMEOUTS: &str = "keyward_db_pool_timeouts_total";
const POOL_CONNECTIONS: &str = "keyward_db_pool_connections";
const POOL_IDLE: &str = "keyward_db_pool_idle_connections";

/// The outcome label of a key check: `allowed`, or a rejection code.
pub const KEY_CHECK_OUTCOMES: [&str; 1 + KeyRejection::CODES.len()] = {
    let mut outcomes = ["allowed"; 1 + KeyRejection::CODES.len()];
    let mut i = 0;
    while i < KeyRejection::CODES.len() {
        outcomes[i + 1] = KeyRejection::CODES[i];
        i += 1;
    }
    outcomes
};

/// The statuses a request is counted under by their number; any other is
/// counted as `other`. Every status Keyward answers is here: a fixed list
/// keeps the number of series bounded whatever a client sends.
const STATUSES: [u16; 24] = [
    200, 201, 204, 206, 302, 303, 304, 400, 401, 403, 404, 405, 406, 409, 411, 413, 414, 415, 422, 429, 431, 500, 501,
    503,
];
const STATUS_SLOTS: usize = STATUSES.len() + 1;

/// The route label of a request no route matched (an unknown path).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a change of a key reached this instance's cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeVia {
    /// Made by this instance, which reads the log before it answers.
    Local,
    /// Announced by PostgreSQL (`LISTEN`/`NOTIFY`).
    Push,
    /// Found by reading the change log on a timer.
    Poll,
}

impl ChangeVia {
    const ALL: [ChangeVia; 3] = [ChangeVia::Local, ChangeVia::Push, ChangeVia::Poll];

    fn label(self) -> &'static str {
        match self {
            ChangeVia::Local => "local",
            ChangeVia::Push => "push",
            ChangeVia::Poll => "poll",
        }
    }
}

/// The metrics of one running application; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Route label → its row of `requests`; built once, read without a lock.
    routes: HashMap<Box<str>, usize, foldhash::fast::FixedState>,
    /// Per route (0 is `UNMATCHED_ROUTE`), per status slot: registered on
    /// first use.
    requests: Vec<(Box<str>, [OnceLock<Counter>; STATUS_SLOTS])>,
    key_checks: [Counter; KEY_CHECK_OUTCOMES.len()],
    cache_hits: Counter,
    cache_misses: Counter,
    cache_entries: Gauge,
    flush_seconds: Histogram,
    flush_rows: Counter,
    flush_failures: Counter,
    change_lag: [Histogram; ChangeVia::ALL.len()],
    listener_connected: Gauge,
    listener_losses: Counter,
    pool_wait: Histogram,
    pool_timeouts: Counter,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

static METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// Bucket bounds in seconds, from a millisecond to a minute: flushes,
/// pool waits and change propagation all live in this range.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

impl Default for Metrics {
    /// Metrics with no route listed: every request counts as unmatched
    /// (the command-line tools and unit tests, which serve no requests).
    fn default() -> Self {
        Self::new(std::iter::empty())
    }
}

impl Metrics {
    /// Registers every series of the hot path; `routes` are the route
    /// labels requests are counted under (the patterns their resources are
    /// named by), any other name counting as `UNMATCHED_ROUTE`.
    pub fn new(routes: impl IntoIterator<Item = String>) -> Self {
        let mut builder = PrometheusBuilder::new();
        for histogram in [FLUSH_SECONDS, CHANGE_LAG, POOL_WAIT] {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(histogram.to_owned()), &SECONDS_BUCKETS)
                .unwrap_or_else(|_| unreachable!("the bucket list is not empty"));
        }
        let recorder = builder.build_recorder();
        let describe = |name: &'static str, kind: Kind, help: &'static str| {
            let (name, help) = (KeyName::from_const_str(name), SharedString::const_str(help));
            match kind {
                Kind::Counter => recorder.describe_counter(name, None, help),
                Kind::Gauge => recorder.describe_gauge(name, None, help),
                Kind::Histogram => recorder.describe_histogram(name, None, help),
            }
        };
        describe(
            REQUESTS,
            Kind::Counter,
            "HTTP requests answered, by route pattern and status",
        );
        describe(
            KEY_CHECKS,
            Kind::Counter,
            "API key checks, by outcome (allowed or the rejection code)",
        );
        describe(
            CACHE_LOOKUPS,
            Kind::Counter,
            "Key cache look-ups, by result (hit or miss)",
        );
        describe(
            CACHE_ENTRIES,
            Kind::Gauge,
            "Key records (and unknown key ids) in the cache",
        );
        describe(FLUSH_SECONDS, Kind::Histogram, "Time one usage flush took to write");
        describe(
            FLUSH_ROWS,
            Kind::Counter,
            "Usage rows (key, hour, outcome) written by flushes",
        );
        describe(
            FLUSH_FAILURES,
            Kind::Counter,
            "Usage flushes that failed (their counts are kept for the next)",
        );
        describe(
            CHANGE_LAG,
            Kind::Histogram,
            "From a key change (by its writer's clock) to this instance dropping the changed key, by how it arrived",
        );
        describe(
            LISTENER_CONNECTED,
            Kind::Gauge,
            "1 while the PostgreSQL connection that listens for key changes is up, else 0 (the change log is polled)",
        );
        describe(
            LISTENER_LOSSES,
            Kind::Counter,
            "Times the key change listener's connection was lost or could not be opened after being up",
        );
        describe(
            POOL_WAIT,
            Kind::Histogram,
            "Time a database connection took to check out of the pool",
        );
        describe(
            POOL_TIMEOUTS,
            Kind::Counter,
            "Check-outs that found no connection within the database timeout (answered 503)",
        );
        describe(POOL_CONNECTIONS, Kind::Gauge, "Database connections the pool holds");
        describe(POOL_IDLE, Kind::Gauge, "Database connections idle in the pool");

        let counter = |name: &'static str, labels: Vec<Label>| {
            recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
        };
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &METADATA);
        let histogram = |name: &'static str, labels: Vec<Label>| {
            recorder.register_histogram(&Key::from_parts(name, labels), &METADATA)
        };
        let key_checks =
            KEY_CHECK_OUTCOMES.map(|outcome| counter(KEY_CHECKS, vec![Label::from_static_parts("outcome", outcome)]));
        let change_lag =
            ChangeVia::ALL.map(|via| histogram(CHANGE_LAG, vec![Label::from_static_parts("via", via.label())]));

        let mut requests = vec![(Box::<str>::from(UNMATCHED_ROUTE), empty_slots())];
        let mut by_name = HashMap::with_hasher(foldhash::fast::FixedState::default());
        for route in routes {
            if !by_name.contains_key(route.as_str()) {
                by_name.insert(route.clone().into_boxed_str(), requests.len());
                requests.push((route.into_boxed_str(), empty_slots()));
            }
        }
        let inner = Inner {
            handle: recorder.handle(),
            routes: by_name,
            requests,
            key_checks,
            cache_hits: counter(CACHE_LOOKUPS, vec![Label::from_static_parts("result", "hit")]),
            cache_misses: counter(CACHE_LOOKUPS, vec![Label::from_static_parts("result", "miss")]),
            cache_entries: gauge(CACHE_ENTRIES),
            flush_seconds: histogram(FLUSH_SECONDS, Vec::new()),
            flush_rows: counter(FLUSH_ROWS, Vec::new()),
            flush_failures: counter(FLUSH_FAILURES, Vec::new()),
            change_lag,
            listener_connected: gauge(LISTENER_CONNECTED),
            listener_losses: counter(LISTENER_LOSSES, Vec::new()),
            pool_wait: histogram(POOL_WAIT, Vec::new()),
            pool_timeouts: counter(POOL_TIMEOUTS, Vec::new()),
            pool_connections: gauge(POOL_CONNECTIONS),
            pool_idle: gauge(POOL_IDLE),
            recorder,
        };
        Self(Arc::new(inner))
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.0.handle.render()
    }

    /// Folds the histograms' recorded values into their buckets: without a
    /// scrape they would otherwise pile up in memory. Run every few seconds.
    pub fn run_upkeep(&self) {
        self.0.handle.run_upkeep();
    }

    /// The row requests for `path` are counted in. A route without a
    /// parameter is its own path, so most requests are found by one hash
    /// look-up of the path; only the others ask `matched` for the name of
    /// the resource that matches (its pattern; `None` when none does), a
    /// walk of the router's resource map.
    pub fn route_row<'a>(&self, path: &str, matched: impl FnOnce() -> Option<&'a str>) -> RouteRow {
        let row = self
            .0
            .routes
            .get(path)
            .or_else(|| matched().and_then(|name| self.0.routes.get(name)));
        RouteRow(row.copied().unwrap_or(0))
    }

    /// One answered request.
    pub fn count_request(&self, row: RouteRow, status: u16) {
        let slot = STATUSES.iter().position(|s| *s == status).unwrap_or(STATUSES.len());
        let (route, slots) = &self.0.requests[row.0];
        slots[slot]
            .get_or_init(|| {
                let status = STATUSES
                    .get(slot)
                    .map_or_else(|| "other".to_owned(), ToString::to_string);
                let labels = vec![Label::new("route", route.to_string()), Label::new("status", status)];
                self.0
                    .recorder
                    .register_counter(&Key::from_parts(REQUESTS, labels), &METADATA)
            })
            .increment(1);
    }

    /// One key check's outcome: `allowed` or a rejection code.
    pub fn count_key_check(&self, outcome: &str) {
        // "allowed" first: the common case is one comparison.
        if let Some(i) = KEY_CHECK_OUTCOMES.iter().position(|o| *o == outcome) {
            self.0.key_checks[i].increment(1);
        }
    }

    pub fn count_cache_lookup(&self, hit: bool) {
        if hit {
            self.0.cache_hits.increment(1);
        } else {
            self.0.cache_misses.increment(1);
        }
    }

    pub fn set_cache_entries(&self, entries: usize) {
        self.0.cache_entries.set(entries as f64);
    }

    /// One usage flush that had something to write: how long it took, and
    /// the rows it wrote (`None` when it failed).
    pub fn record_usage_flush(&self, took: Duration, rows: Option<usize>) {
        self.0.flush_seconds.record(took.as_secs_f64());
        match rows {
            Some(rows) => self.0.flush_rows.increment(rows as u64),
            None => self.0.flush_failures.increment(1),
        }
    }

    /// A change applied `lag` after it was made.
    pub fn record_key_change_lag(&self, via: ChangeVia, lag: Duration) {
        let i = ChangeVia::ALL.iter().position(|v| *v == via).unwrap_or(0);
        self.0.change_lag[i].record(lag.as_secs_f64());
    }

    pub fn set_key_change_listener_connected(&self, connected: bool) {
        self.0.listener_connected.set(if connected { 1.0 } else { 0.0 });
    }

    pub fn count_key_change_listener_loss(&self) {
        self.0.listener_losses.increment(1);
    }

    pub fn set_pool_state(&self, connections: u32, idle: u32) {
        self.0.pool_connections.set(f64::from(connections));
        self.0.pool_idle.set(f64::from(idle));
    }

    /// What the database pool tells these metrics: each check-out's wait
    /// and each timeout (r2d2's own events, so nothing is timed twice).
    pub fn pool_events(&self) -> PoolEvents {
        PoolEvents(self.clone())
    }
}

/// Where a route's requests are counted (`Metrics::route_row`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRow(usize);

enum Kind {
    Counter,
    Gauge,
    Histogram,
}

fn empty_slots() -> [OnceLock<Counter>; STATUS_SLOTS] {
    std::array::from_fn(|_| OnceLock::new())
}

/// The pool's event handler (`r2d2::Builder::event_handler`).
pub struct PoolEvents(Metrics);

impl std::fmt::Debug for PoolEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolEvents")
    }
}

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.0.0.pool_wait.record(event.duration().as_secs_f64());
    }

    fn handle_timeout(&self, _event: r2d2::event::TimeoutEvent) {
        self.0.0.pool_timeouts.increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|line| line.starts_with(start))
    }

    #[test]
    fn requests_count_under_their_route_pattern_and_status() {
        let metrics = Metrics::new(["/api/v1/api-keys/{id}".to_owned()]);
        let row = metrics.route_row("/api/v1/api-keys/k1", || Some("/api/v1/api-keys/{id}"));
        metrics.count_request(row, 404);
        metrics.count_request(row, 404);
        metrics.count_request(metrics.route_row("/x", || Some("/a/route/nobody/listed")), 200);
        metrics.count_request(metrics.route_row("/y", || None), 599);
        let text = metrics.render();
        assert_eq!(
            line_of(
                &text,
                "keyward_http_requests_total{route=\"/api/v1/api-keys/{id}\",status=\"404\"}"
            ),
            Some("keyward_http_requests_total{route=\"/api/v1/api-keys/{id}\",status=\"404\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("keyward_http_requests_total{route=\"unmatched\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("keyward_http_requests_total{route=\"unmatched\",status=\"other\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn a_path_that_is_a_listed_pattern_needs_no_walk_of_the_router() {
        let metrics = Metrics::new(["/api/v1/ping".to_owned(), "/api/v1/api-keys/{id}".to_owned()]);
        let ping = metrics.route_row("/api/v1/ping", || panic!("no walk for a route without parameters"));
        assert_eq!(ping, metrics.route_row("/elsewhere", || Some("/api/v1/ping")));
        assert_ne!(ping, metrics.route_row("/nowhere", || None));
    }

    #[test]
    fn every_rejection_code_is_an_outcome_registered_at_zero() {
        let text = Metrics::default().render();
        for outcome in KEY_CHECK_OUTCOMES {
            assert!(
                text.contains(&format!("keyward_key_checks_total{{outcome=\"{outcome}\"}} 0")),
                "{outcome}: {text}"
            );
        }
        assert!(text.contains("# TYPE keyward_key_checks_total counter"), "{text}");
        assert!(text.contains("# HELP keyward_key_checks_total "), "{text}");
    }

    #[test]
    fn histograms_have_buckets_in_seconds() {
        let metrics = Metrics::default();
        metrics.record_key_change_lag(ChangeVia::Push, Duration::from_millis(3));
        let text = metrics.render();
        assert!(
            text.contains("keyward_key_change_lag_seconds_bucket{via=\"push\",le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE keyward_key_change_lag_seconds histogram"),
            "{text}"
        );
    }
}
