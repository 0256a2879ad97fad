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
    // and, with shared metrics, the exporter serve the same families),
    // the latency histograms recorded by the requests above.
    let mut e = Exposition::new();
    let stats = client.stats();
    stats.add_to(&mut e);
    let rendered = e.render();
    for class in ["get", "store"] {
        let series = format!(
            "mcring_client_request_duration_seconds_count{{server=\"{}\",command=\"{class}\"}}",
            m.spec()
        );
        let count = mcring_tests::exporter::sample(&rendered, &series);
        let want = if class == "get" { 2.0 } else { 1.0 };
        assert_eq!(count, Some(want), "{series} in\n{rendered}");
    }
    let exported: BTreeSet<String> =
        sample_names(&served).into_iter().chain(sample_names(&rendered)).collect();

    let mut queried = BTreeSet::new();
    for expr in dashboard_exprs().iter().chain(&alert_exprs()) {
        queried.extend(metric_names(expr));
    }
    assert!(queried.len() >= 10, "{queried:?}");
    let missing: Vec<&String> = queried.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(missing.is_empty(), "queried but not exported: {missing:?}\nexported: {exported:?}");
}

// ---- Kubernetes -------------------------------------------------------------

/// Every document of every manifest in deploy/kubernetes.
fn kubernetes_docs() -> Vec<yaml_rust2::Yaml> {
    let dir = deploy("kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "memcached, python and php manifests: {files:?}");
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let parsed = yaml_rust2::YamlLoader::load_from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", f.display()));
        docs.extend(parsed.into_iter().filter(|d| !d.is_null()));
    }
    docs
}

fn kind_of(doc: &yaml_rust2::Yaml) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

#[test]
fn kubernetes_manifests_configure_mcring_with_the_headless_service() {
    use mcring_tests::dnsmasq::{Dnsmasq, Srv};
    let docs = kubernetes_docs();
    // The headless service and the StatefulSet behind it.
    let service = docs.iter().find(|d| kind_of(d) == "Service").expect("a Service");
    assert_eq!(service["spec"]["clusterIP"].as_str(), Some("None"), "the service is headless");
    let (svc, ns) = (
        service["metadata"]["name"].as_str().unwrap(),
        service["metadata"]["namespace"].as_str().unwrap(),
    );
    let port = &service["spec"]["ports"][0];
    let (port_name, port_number) = (port["name"].as_str().unwrap(), port["port"].as_i64().unwrap());
    let sts = docs.iter().find(|d| kind_of(d) == "StatefulSet").expect("a StatefulSet");
    assert_eq!(sts["spec"]["serviceName"].as_str(), Some(svc));
    let replicas = sts["spec"]["replicas"].as_i64().unwrap() as usize;
    let deployments: Vec<&str> = docs
        .iter()
        .filter(|d| kind_of(d) == "Deployment")
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        deployments.contains(&"python-app") && deployments.contains(&"php-app"),
        "{deployments:?}"
    );

    // Every config string of the apps names that service.
    let host = format!("{svc}.{ns}.svc.cluster.local");
    let srv_name = format!("_{port_name}._tcp.{host}");
    let mut configs = Vec::new();
    for d in docs.iter().filter(|d| kind_of(d) == "ConfigMap") {
        for (k, v) in d["data"].as_hash().expect("ConfigMap data") {
            if k.as_str().unwrap_or("").starts_with("MCRING_SERVERS") {
                configs.push(v.as_str().unwrap().to_string());
            }
        }
    }
    assert!(configs.len() >= 2, "{configs:?}");
    for c in &configs {
        let parsed = mcring::Config::parse(c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert!(parsed.servers.is_empty(), "{c:?}: servers come from DNS");
        for source in &parsed.discover {
            match source {
                mcring::Discovery::Addresses { name, port, .. } => {
                    assert_eq!(
                        (name.as_str(), i64::from(*port)),
                        (host.as_str(), port_number),
                        "{c:?}"
                    );
                }
                mcring::Discovery::Srv { name } => assert_eq!(name, &srv_name, "{c:?}"),
            }
        }
    }

    // What `mcring servers` finds for each, asking a DNS server that holds
    // the records the cluster's DNS would (the pods on loopback addresses).
    let pods: Vec<String> = (0..replicas).map(|i| format!("{svc}-{i}.{host}")).collect();
    let mut hosts: Vec<(&str, std::net::Ipv4Addr)> = (0..replicas)
        .map(|i| (host.as_str(), std::net::Ipv4Addr::new(127, 0, 0, 2 + i as u8)))
        .collect();
    for (i, pod) in pods.iter().enumerate() {
        hosts.push((pod.as_str(), std::net::Ipv4Addr::new(127, 0, 0, 2 + i as u8)));
    }
    let srv: Vec<Srv> = pods
        .iter()
        .map(|p| Srv {
            name: srv_name.clone(),
            target: p.clone(),
            port: port_number as u16,
            priority: 0,
            weight: (100 / replicas) as u16,
        })
        .collect();
    let dns = Dnsmasq::start(&hosts, &srv);
    for c in &configs {
        let out = Command::new(mcring_tests::mcring_binary())
            .args(["--servers", &format!("{c} dns_server={}", dns.addr()), "servers"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{c:?}: {text} {}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), replicas, "{c:?}: {text}");
        for l in lines {
            let server = l.split(' ').next().unwrap();
            let ok = server.starts_with("127.0.0.")
                || pods.iter().any(|p| server.starts_with(p.as_str()));
            assert!(ok && server.ends_with(&format!(":{port_number}")), "{c:?}: {l}");
        }
    }
}
