//! One JSON line per request, in CloudWatch embedded-metric format so every outcome is also a
//! metric (`requests` and `latency_ms`, by function and outcome). Never a secret or a token.

use serde_json::{Map, Value, json};

/// RUST_LOG as `level` or `target=level,...` (tracing-subscriber's `Targets`: EnvFilter's syntax
/// without span and field directives, and without the regex engine EnvFilter compiles in).
/// Unset or unreadable: info.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(|| tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::fmt().json().with_current_span(false).finish().with(filter).try_init();
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-23T10:19:56.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Prints the request line. `fields` should hold request_id, outcome, status and friends.
pub fn request_line(function: &str, outcome: &str, latency_ms: f64, fields: Map<String, Value>) {
    let latency = json!((latency_ms * 100.0).round() / 100.0);
    metric_line(function, outcome, &[("requests", "Count", 1.into()), ("latency_ms", "Milliseconds", latency)], fields);
}

/// The CloudWatch namespace of the metrics: `METRICS_NAMESPACE` (template.yaml sets
/// `gatehouse/<stack name>`, so two stacks in one account and region never add up), else
/// `gatehouse`. Read once per container.
pub fn metrics_namespace() -> &'static str {
    static NS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NS.get_or_init(|| namespace_from(std::env::var("METRICS_NAMESPACE").ok()))
}

/// What CloudWatch takes as a custom namespace: 1-255 of letters, digits and `.-_/#: `, not
/// under `AWS/`. config.rs refuses anything else at init.
pub fn valid_namespace(s: &str) -> bool {
    (1..=255).contains(&s.len()) && !s.starts_with("AWS/") && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
}

/// The set namespace, or the default when unset (or invalid, which init already refused: a line
/// with an invalid namespace would lose every metric on it).
fn namespace_from(v: Option<String>) -> String {
    v.map(|s| s.trim().to_string()).filter(|s| valid_namespace(s)).unwrap_or_else(|| "gatehouse".into())
}

/// One EMF line: each `(name, unit, value)` becomes a metric by function and outcome, and
/// `fields` ride along as searchable properties.
pub fn metric_line(function: &str, outcome: &str, metrics: &[(&str, &str, Value)], mut fields: Map<String, Value>) {
    let defs: Vec<Value> = metrics.iter().map(|(n, u, _)| json!({"Name": n, "Unit": u})).collect();
    fields.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms(),
            "CloudWatchMetrics": [{ "Namespace": metrics_namespace(), "Dimensions": [["function", "outcome"]], "Metrics": defs }]
        }),
    );
    fields.insert("function".into(), function.into());
    fields.insert("outcome".into(), outcome.into());
    for (n, _, v) in metrics {
        fields.insert((*n).into(), v.clone());
    }
    println!("{}", Value::Object(fields));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_is_the_stacks_or_the_default() {
        assert_eq!(namespace_from(Some("gatehouse/prod-eu".into())), "gatehouse/prod-eu");
        assert_eq!(namespace_from(Some(" gatehouse/staging ".into())), "gatehouse/staging");
        for bad in [None, Some(String::new()), Some("AWS/Lambda".into()), Some("gate\"house".into()), Some("x".repeat(256))] {
            assert_eq!(namespace_from(bad.clone()), "gatehouse", "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_763_900_001_234), "2025-11-23T12:13:21.234Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
