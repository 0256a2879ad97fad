//! `mcring exporter`: Prometheus metrics of every server of the pool over
//! HTTP (`GET /metrics`), each server's `stats` read on every scrape.
//!
//! `--listen ADDR` (default 127.0.0.1:9150; port 0 picks a free one) —
//! the address actually bound is printed on stdout as
//! `listening http://ADDR/metrics`. `--scrape-timeout S` (default 5)
//! bounds a scrape; Prometheus' own timeout
//! (`X-Prometheus-Scrape-Timeout-Seconds`) lowers it. `--shm PATH` adds
//! the client metrics of every process using the shared metrics area at
//! PATH (PHP-FPM workers with `mcring.shared_metrics = PATH`); with it,
//! servers are optional. SIGTERM or SIGINT stops the exporter after the
//! request in progress, exit status 0.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mcring::Ring;

use crate::args::{self, Global};
use crate::failure::{warn, Failure, OK};
use crate::out::Out;
use crate::{pool, scrape, shutdown};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse(
        "exporter",
        rest,
        &[("--listen", true), ("--scrape-timeout", true), ("--shm", true)],
    )?;
    a.expect(0, 0, "exporter [--listen ADDR] [--scrape-timeout SECONDS] [--shm PATH]")?;
    let listen = a.value("--listen").unwrap_or("127.0.0.1:9150").to_string();
    let max_timeout = a.seconds("--scrape-timeout", 5.0)?.max(Duration::from_millis(10));
    let shm = a.value("--shm").map(PathBuf::from);
    let no_servers = global.servers.is_none() && std::env::var_os("MCRING_SERVERS").is_none();
    let config = match &shm {
        // The shared area alone: nothing to scrape but the clients' metrics.
        Some(_) if no_servers => mcring::Config::new(Vec::new()),
        _ => pool::load_config(global, &[])?,
    };
    if let Some(path) = &shm {
        // A wrong path is said at once; a missing file is not fatal (the
        // pool may start later), each scrape says so.
        if let Err(e) = mcring::shared_metrics::read(path) {
            warn(format_args!("exporter: --shm: {e}"));
        }
    }
    let ring = Ring::new(&config.servers, config.distribution, config.key_hash());

    shutdown::install();
    let server = tiny_http::Server::http(&listen)
        .map_err(|e| Failure::usage(format!("exporter: cannot listen on {listen}: {e}")))?;
    let bound = server.server_addr().to_ip().map_or(listen.clone(), |a| a.to_string());
    let mut out = Out::new(false);
    out.line(&format!("listening http://{bound}/metrics"))?;
    out.flush()?;

    while !shutdown::requested() {
        let request = match server.recv_timeout(POLL) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::usage(format!("exporter: {e}"))),
        };
        let response = respond(&request, &config, &ring, max_timeout, shm.as_deref());
        if let Err(e) = request.respond(response) {
            warn(format_args!("exporter: writing a response: {e}"));
        }
    }
    warn("exporter: stopped");
    Ok(OK)
}

fn header<'a>(request: &'a tiny_http::Request, name: &'static str) -> Option<&'a str> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
}

fn text_response(
    status: u16,
    body: String,
    content_type: &str,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut r = tiny_http::Response::from_string(body).with_status_code(status);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        r.add_header(h);
    }
    r
}

fn respond(
    request: &tiny_http::Request,
    config: &mcring::Config,
    ring: &Ring,
    max_timeout: Duration,
    shm: Option<&Path>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    use tiny_http::Method;
    let path = request.url().split('?').next().unwrap_or("");
    if !matches!(request.method(), Method::Get | Method::Head) {
        return text_response(405, "only GET\n".into(), "text/plain");
    }
    match path {
        "/metrics" => {
            // Prometheus says how long it waits; answer a little before.
            let asked = header(request, "X-Prometheus-Scrape-Timeout-Seconds")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(|s| Duration::from_secs_f64(s * 0.9));
            let timeout = asked.map_or(max_timeout, |t| t.min(max_timeout));
            let (body, errors) = scrape::scrape(config, ring, timeout, shm);
            for e in errors {
                warn(format_args!("exporter: {e}"));
            }
            text_response(200, body, CONTENT_TYPE)
        }
        "/" => text_response(
            200,
            "mcring exporter: metrics at /metrics\n".into(),
            "text/plain; charset=utf-8",
        ),
        _ => text_response(404, "not found; metrics at /metrics\n".into(), "text/plain"),
    }
}
