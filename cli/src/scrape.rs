//! One scrape of a pool for the exporter: every server's `stats` and
//! `stats settings`, read in parallel and bounded by the scrape timeout,
//! and the client metrics of a shared metrics area, rendered with the
//! engine's metric families.

use std::path::Path;
use std::time::{Duration, Instant};

use mcring::metrics::Exposition;
use mcring::server_metrics::{add_owned_fractions, add_server, ServerScrape};
use mcring::{Client, Config, Ring, ServerSpec};

/// What one server answered.
struct Answer {
    name: String,
    stats: Option<Vec<(String, String)>>,
    settings: Option<Vec<(String, String)>>,
    took: Duration,
    error: Option<mcring::Error>,
}

/// Reads one server with a client of its own, so its health (and a stopped
/// server's timeouts) never touches the other servers' reads. The budget
/// is split over the connect and the two requests.
fn read_server(spec: &ServerSpec, budget: Duration) -> Answer {
    let start = Instant::now();
    let slice = (budget.as_millis() as u64 / 3).max(1);
    let mut config = Config::new(vec![spec.clone()]);
    config.connect_timeout_ms = slice;
    config.io_timeout_ms = slice;
    let mut answer = Answer {
        name: spec.name(),
        stats: None,
        settings: None,
        took: Duration::ZERO,
        error: None,
    };
    match Client::new(config) {
        Err(e) => answer.error = Some(e),
        Ok(client) => match client.server_stats(None).pop().map(|(_, r)| r) {
            Some(Ok(stats)) => {
                answer.stats = Some(stats);
                if let Some((_, Ok(settings))) = client.server_stats(Some("settings")).pop() {
                    answer.settings = Some(settings);
                }
            }
            Some(Err(e)) => answer.error = Some(e),
            None => answer.error = Some(mcring::Error::NoServers),
        },
    }
    answer.took = start.elapsed();
    answer
}

/// The exposition of one scrape of `config`'s servers (configured, then
/// gutter), each bounded by `timeout`, and of the shared metrics area at
/// `shm`. Servers that do not answer are `memcached_up 0`, an area that
/// cannot be read `mcring_shared_metrics_up 0`; their errors are returned
/// for the log.
pub fn scrape(
    config: &Config,
    ring: &Ring,
    timeout: Duration,
    shm: Option<&Path>,
) -> (String, Vec<String>) {
    let specs: Vec<&ServerSpec> = config.servers.iter().chain(&config.gutter).collect();
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            specs.iter().map(|spec| scope.spawn(move || read_server(spec, timeout))).collect();
        handles
            .into_iter()
            .zip(&specs)
            .map(|(h, spec)| {
                h.join().unwrap_or_else(|_| Answer {
                    name: spec.name(),
                    stats: None,
                    settings: None,
                    took: Duration::ZERO,
                    error: Some(mcring::Error::BadValue("scrape thread panicked".into())),
                })
            })
            .collect()
    });
    let mut e = Exposition::new();
    let mut errors = Vec::new();
    for a in &answers {
        add_server(
            &mut e,
            &ServerScrape {
                server: &a.name,
                stats: a.stats.as_deref(),
                settings: a.settings.as_deref(),
            },
        );
        if let Some(err) = &a.error {
            errors.push(err.to_string());
        }
    }
    for a in &answers {
        e.gauge(
            "mcring_scrape_duration_seconds",
            "How long reading the server's stats took in this scrape.",
            &[("server", &a.name)],
            a.took.as_secs_f64(),
        );
    }
    add_owned_fractions(&mut e, &config.servers, ring);
    if let Some(path) = shm {
        let read = mcring::shared_metrics::read(path);
        e.gauge(
            "mcring_shared_metrics_up",
            "Whether the shared metrics area of the clients (--shm) could be read.",
            &[("path", &path.display().to_string())],
            u64::from(read.is_ok()),
        );
        match read {
            Ok(stats) => stats.add_to(&mut e),
            Err(err) => errors.push(format!("--shm: {err}")),
        }
    }
    (e.render(), errors)
}
