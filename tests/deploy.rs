//! The checked-in dashboard (deploy/grafana/mcring.json) and alerts
//! (deploy/prometheus/alerts.yml): the rules pass `promtool check rules`,
//! and every metric they query exists in what mcring exports — the
//! exporter's scrape of a real server, and the client metrics of a real
//! client rendered by the engine.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use mcring::metrics::Exposition;
use mcring::Client;
use mcring_tests::exporter::{sample_names, Exporter};
use mcring_tests::Memcached;

fn deploy(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(path)
}

/// Every PromQL expression of the dashboard: panel targets and variables.
fn dashboard_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("grafana/mcring.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    for var in dash["templating"]["list"].as_array().expect("variables") {
        if let Some(q) = var["query"]["query"].as_str() {
            exprs.push(q.to_string());
        }
    }
    exprs
}

/// Every `expr:` of the rules file (inline or as a `|` block).
fn alert_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut exprs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if let Some(rest) = l.trim_start().strip_prefix("expr:") {
            let rest = rest.trim();
            if rest == "|" || rest == ">" {
                let mut block = String::new();
                let mut j = i + 1;
                while j < lines.len()
                    && (lines[j].trim().is_empty() || indent(lines[j]) > indent(l))
                {
                    block.push_str(lines[j].trim());
                    block.push('\n');
                    j += 1;
                }
                exprs.push(block);
                i = j;
                continue;
            }
            exprs.push(rest.to_string());
        }
        i += 1;
    }
    exprs
}

/// The metric names a PromQL expression reads (ours all start with
/// `memcached_` or `mcring_`; quoted label values are skipped).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut unquoted = String::new();
    let mut in_quote = false;
    for c in expr.chars() {
        if c == '"' {
            in_quote = !in_quote;
            unquoted.push(' ');
        } else if !in_quote {
            unquoted.push(c);
        }
    }
    unquoted
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("memcached_") || t.starts_with("mcring_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = metric_names(
        r#"sum by (server) (rate(memcached_commands_total{command="get",server=~"mcring_x"}[5m])) / mcring_client_request_duration_seconds_bucket"#,
    );
    let want: BTreeSet<String> =
        ["memcached_commands_total", "mcring_client_request_duration_seconds_bucket"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(names, want);
    assert!(alert_exprs().len() >= 4);
    assert!(dashboard_exprs().len() >= 10);
}

#[test]
fn alert_rules_pass_promtool_check_rules() {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_string());
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(deploy("prometheus/alerts.yml"))
        .output()
        .expect("run promtool (is the prometheus package installed?)");
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_metric_the_dashboard_and_alerts_query_is_exported() {
    let m = Memcached::start();
    let client = Client::from_config_str(&m.spec()).unwrap();
    client.set("k", b"v", 0, 0).unwrap();
    client.get("k").unwrap();
    client.get("missing").unwrap();

    // Server metrics: what the exporter serves.
    let exporter = Exporter::start(&m.spec(), &[]);
    let (status, served) = exporter.scrape();
    assert_eq!(status, 200);

    // Client metrics: what the engine renders for a client (the bindings
    // and, with shared metrics, the exporter serve the same families). The
    // latency family comes from the engine's histogram renderer; the engine
    // does not record into it on the request path yet.
    let mut e = Exposition::new();
    client.stats().add_to(&mut e);
    let latencies = mcring::histogram::Latencies::default();
    latencies.add_to(&mut e, &m.spec());
    let exported: BTreeSet<String> =
        sample_names(&served).into_iter().chain(sample_names(&e.render())).collect();

    let mut queried = BTreeSet::new();
    for expr in dashboard_exprs().iter().chain(&alert_exprs()) {
        queried.extend(metric_names(expr));
    }
    assert!(queried.len() >= 10, "{queried:?}");
    let missing: Vec<&String> = queried.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(missing.is_empty(), "queried but not exported: {missing:?}\nexported: {exported:?}");
}
