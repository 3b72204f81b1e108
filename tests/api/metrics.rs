//! `GET /metrics`: the Prometheus text format, counters that move with the
//! requests that should move them, and no answer but an unknown path's 404
//! for a client outside `--metrics-allow` (also one that forwards an
//! allowed address it is not trusted to forward).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use keyward::config::Settings;

use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(
    the_metrics_read_as_prometheus_text_exposition,
    key_checks_cache_look_ups_and_requests_move_their_counters
);
on_both_backends!(adjusting behind_a_proxy; a_client_outside_the_allowed_networks_gets_the_404_of_an_unknown_path);
on_both_backends!(adjusting only_a_private_network; a_forwarded_address_from_an_untrusted_peer_does_not_open_the_metrics);

/// What a scrape found: each sample (name and labels as written) → value.
pub struct Scrape {
    pub text: String,
    pub samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// The value of one sample, 0 when it is not there (a series not yet
    /// seen counts as nothing).
    pub fn value(&self, sample: &str) -> f64 {
        self.samples.get(sample).copied().unwrap_or(0.0)
    }
}

/// Reads `/metrics` from `app` as an allowed client; panics unless it is
/// well-formed exposition text (see `parse`).
pub async fn scrape(app: &TestApp) -> Scrape {
    let response = app.client.get(app.url("/metrics")).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 200, "/metrics from loopback");
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let text = response.text().await.expect("body");
    match parse(&text) {
        Ok(samples) => Scrape { text, samples },
        Err(problem) => panic!("/metrics is not Prometheus text: {problem}\n{text}"),
    }
}

/// Checks the text exposition format's rules (Prometheus 0.0.4) and returns
/// the samples: every line is a `# HELP`, a `# TYPE` or a sample; a family
/// has one TYPE, given before its samples; names and label names are of the
/// allowed characters, label values are quoted with only `\\`, `\"` and
/// `\n` escaped; values are floats; a histogram's buckets carry `le`, count
/// up, and end with `+Inf` equal to its `_count`.
pub fn parse(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let is_name = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let is_label_name = |name: &str| is_name(name) && !name.contains(':');
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut samples = BTreeMap::new();
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), Some(_)) if is_name(name) => {
                    if !helped.insert(name.to_owned()) {
                        return Err(format!("line {number}: a second HELP for {name}"));
                    }
                }
                (Some("TYPE"), Some(name), Some(kind)) if is_name(name) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(format!("line {number}: unknown type {kind}"));
                    }
                    if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                        return Err(format!("line {number}: a second TYPE for {name}"));
                    }
                }
                _ => {
                    return Err(format!(
                        "line {number}: a comment that is neither HELP nor TYPE: {line}"
                    ));
                }
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {number}: no value: {line}"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .map_err(|_| format!("line {number}: the value {other:?} is not a float"))?,
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .ok_or_else(|| format!("line {number}: labels not closed: {line}"))?;
                (
                    name,
                    parse_labels(inner).map_err(|e| format!("line {number}: {e}: {line}"))?,
                )
            }
        };
        if !is_name(name) {
            return Err(format!("line {number}: {name:?} is not a metric name"));
        }
        if let Some((label, _)) = labels.iter().find(|(label, _)| !is_label_name(label)) {
            return Err(format!("line {number}: {label:?} is not a label name"));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram" || t == "summary"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(format!("line {number}: {name} has no TYPE line before it"));
        }
        if types[family] == "histogram" && name.ends_with("_bucket") {
            let le = labels
                .iter()
                .find(|(label, _)| label == "le")
                .ok_or_else(|| format!("line {number}: a bucket without le"))?;
            let bound = if le.1 == "+Inf" {
                f64::INFINITY
            } else {
                le.1.parse().map_err(|_| format!("line {number}: le {:?}", le.1))?
            };
            let others: Vec<String> = labels
                .iter()
                .filter(|(label, _)| label != "le")
                .map(|(l, v)| format!("{l}={v}"))
                .collect();
            buckets
                .entry(format!("{family}{{{}}}", others.join(",")))
                .or_default()
                .push((bound, value));
        }
        if samples.insert(series.to_owned(), value).is_some() {
            return Err(format!("line {number}: {series} given twice"));
        }
    }
    for (histogram, counts) in &buckets {
        if !counts.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1) {
            return Err(format!("{histogram}: buckets do not count up: {counts:?}"));
        }
        if counts.last().is_none_or(|(bound, _)| *bound != f64::INFINITY) {
            return Err(format!("{histogram}: no +Inf bucket"));
        }
    }
    Ok(samples)
}

/// `a="x",b="y\"z"` → [(a, x), (b, y"z)].
fn parse_labels(mut text: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    while !text.is_empty() {
        let (name, rest) = text.split_once("=\"").ok_or("a label without =\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("a label value not closed".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    _ => return Err("an escape other than \\\\, \\\" or \\n".into()),
                },
                Some((_, '\n')) => return Err("a raw newline in a label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name.to_owned(), value));
        text = &rest[end + 1..];
        text = match text.strip_prefix(',') {
            Some(more) => more,
            None if text.is_empty() => text,
            None => return Err("labels not separated by commas".into()),
        };
    }
    Ok(labels)
}

crate::sync_tests!(the_parser_refuses_what_the_format_does_not_allow);

fn the_parser_refuses_what_the_format_does_not_allow() {
    assert!(parse("# TYPE a counter\na 1\n").is_ok());
    for bad in [
        "a 1\n",
        "# TYPE a counter\na{b=\"c} 1\n",
        "# TYPE a counter\n# TYPE a gauge\na 1\n",
        "# TYPE a counter\na one\n",
        "# TYPE 1a counter\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\n",
        "# nonsense\n",
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}

async fn the_metrics_read_as_prometheus_text_exposition(app: TestApp) {
    // Something in most families first: a request, a key check, a flush.
    let (_, _, key) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    assert_eq!(app.get_with_key("/api/v1/me", &key).await.status().as_u16(), 200);
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("request")
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let scrape = scrape(&app).await;
    for family in [
        "keyward_http_requests_total",
        "keyward_key_checks_total",
        "keyward_key_cache_lookups_total",
        "keyward_key_cache_entries",
        "keyward_usage_flush_duration_seconds",
        "keyward_usage_flush_rows_total",
        "keyward_key_change_lag_seconds",
        "keyward_db_pool_wait_seconds",
        "keyward_db_pool_connections",
    ] {
        assert!(
            scrape.text.contains(&format!("# TYPE {family} ")) && scrape.text.contains(&format!("# HELP {family} ")),
            "{family} is described: {}",
            scrape.text
        );
    }
    assert!(
        scrape.value("keyward_db_pool_wait_seconds_count") >= 1.0,
        "{}",
        scrape.text
    );
    assert!(scrape.value("keyward_key_cache_entries") >= 1.0, "{}", scrape.text);
    assert!(scrape.value("keyward_usage_flush_rows_total") >= 1.0, "{}", scrape.text);
    assert!(
        !scrape.text.contains(&key[..16]) && !scrape.text.contains("ask_"),
        "no key or key id in a label: {}",
        scrape.text
    );
}

async fn key_checks_cache_look_ups_and_requests_move_their_counters(app: TestApp) {
    let admin = TestKey {
        name: "Admin",
        scopes: &["*:*", "admin:api-keys"],
        ..TestKey::default()
    };
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", admin).await;
    let (sync_id, sync) = app.add_api_key(&org, TestKey::default()).await;
    let unknown = keyward::domain::token::ApiKeyToken::generate();
    let before = scrape(&app).await;

    assert_eq!(
        app.get_with_key("/api/v1/me", &sync).await.status().as_u16(),
        200,
        "a miss"
    );
    assert_eq!(
        app.get_with_key("/api/v1/me", &sync).await.status().as_u16(),
        200,
        "a hit"
    );
    assert_eq!(
        app.get_with_key("/api/v1/me", unknown.expose()).await.status().as_u16(),
        401,
        "an unknown key: a miss"
    );
    let none = app.client.get(app.url("/api/v1/me")).send().await.expect("request");
    assert_eq!(none.status().as_u16(), 401, "no key");
    let disabled = app
        .client
        .post(app.url(&format!("/api/v1/api-keys/{sync_id}/disable")))
        .header("X-API-Key", &admin)
        .send()
        .await
        .expect("request");
    assert_eq!(disabled.status().as_u16(), 200, "the admin key: a miss, then a change");
    assert_eq!(
        app.get_with_key("/api/v1/me", &sync).await.status().as_u16(),
        401,
        "disabled: a miss"
    );

    let after = scrape(&app).await;
    let moved = |sample: &str| after.value(sample) - before.value(sample);
    let me = "route=\"/api/v1/me\"";
    for (sample, by) in [
        ("keyward_key_checks_total{outcome=\"allowed\"}".to_owned(), 3.0),
        ("keyward_key_checks_total{outcome=\"invalid_key\"}".to_owned(), 1.0),
        ("keyward_key_checks_total{outcome=\"missing_key\"}".to_owned(), 1.0),
        ("keyward_key_checks_total{outcome=\"key_disabled\"}".to_owned(), 1.0),
        ("keyward_key_cache_lookups_total{result=\"miss\"}".to_owned(), 4.0),
        ("keyward_key_cache_lookups_total{result=\"hit\"}".to_owned(), 1.0),
        (format!("keyward_http_requests_total{{{me},status=\"200\"}}"), 2.0),
        (format!("keyward_http_requests_total{{{me},status=\"401\"}}"), 3.0),
        (
            "keyward_http_requests_total{route=\"/api/v1/api-keys/{id}/disable\",status=\"200\"}".to_owned(),
            1.0,
        ),
    ] {
        assert_eq!(moved(&sample), by, "{sample}\n{}", after.text);
    }
    // The change is counted once, by whichever read of the log saw it
    // first: this instance's own (before it answered), or on PostgreSQL
    // possibly its listener, or the timer.
    let lag_counts: f64 = ["local", "push", "poll"]
        .iter()
        .map(|via| moved(&format!("keyward_key_change_lag_seconds_count{{via=\"{via}\"}}")))
        .sum();
    assert_eq!(lag_counts, 1.0, "{}", after.text);
    // The route is the pattern: the key's id is in no label.
    assert!(!after.text.contains(&sync_id), "{}", after.text);

    // An unknown path is counted, under one label whatever the path.
    for path in ["/no/such/page", "/another/one"] {
        let answer = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(answer.status().as_u16(), 404);
    }
    let unmatched = scrape(&app).await;
    assert_eq!(
        unmatched.value("keyward_http_requests_total{route=\"unmatched\",status=\"404\"}")
            - after.value("keyward_http_requests_total{route=\"unmatched\",status=\"404\"}"),
        2.0,
        "{}",
        unmatched.text
    );
    assert!(!unmatched.text.contains("no/such"), "{}", unmatched.text);
}

/// The test's client (127.0.0.1) is a trusted proxy; only 10.0.0.0/8 may read.
fn behind_a_proxy(settings: &mut Settings) {
    settings.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
    settings.metrics_allow = vec!["10.0.0.0/8".parse().expect("network")];
}

/// Only 10.0.0.0/8 may read, and no proxy is trusted.
fn only_a_private_network(settings: &mut Settings) {
    settings.metrics_allow = vec!["10.0.0.0/8".parse().expect("network")];
}

/// GET `path` as a client that the proxy says is `forwarded_for`.
async fn get_forwarded(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> (u16, String, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(client) = forwarded_for {
        request = request.header("X-Forwarded-For", client);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.expect("body"))
}

async fn a_client_outside_the_allowed_networks_gets_the_404_of_an_unknown_path(app: TestApp) {
    let (status, content_type, body) = get_forwarded(&app, "/metrics", Some("203.0.113.7")).await;
    let (unknown_status, unknown_type, unknown_body) = get_forwarded(&app, "/no-such-path", Some("203.0.113.7")).await;
    assert_eq!((status, &content_type), (unknown_status, &unknown_type), "{body}");
    assert_eq!(status, 404);
    assert!(!body.contains("keyward_"), "{body}");
    // The same page, but for its request id.
    let without_id = |page: &str| {
        page.lines()
            .filter(|line| !line.contains("equest") && !line.to_ascii_lowercase().contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_id(&body), without_id(&unknown_body));

    // Loopback is not on the list here, whatever the socket says.
    assert_eq!(get_forwarded(&app, "/metrics", None).await.0, 404);
    // A client inside the list, as the trusted proxy says.
    let (status, content_type, body) = get_forwarded(&app, "/metrics", Some("10.1.2.3")).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    assert!(parse(&body).is_ok());
}

async fn a_forwarded_address_from_an_untrusted_peer_does_not_open_the_metrics(app: TestApp) {
    for forwarded_for in [Some("10.1.2.3"), Some("127.0.0.1, 10.1.2.3"), None] {
        let (status, _, body) = get_forwarded(&app, "/metrics", forwarded_for).await;
        assert_eq!(status, 404, "{forwarded_for:?}: {body}");
        assert!(!body.contains("keyward_"), "{body}");
    }
}
