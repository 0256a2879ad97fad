//! Prometheus text exposition (format 0.0.4): the one renderer every
//! exporter of mcring uses — the `mcring exporter` command, the client
//! counters of every binding, histograms.
//!
//! Producers add samples to an [`Exposition`] under a family name; samples
//! of one family stay together (Prometheus requires that) whatever order
//! they are added in, and families keep the order of their first sample.
//! [`Exposition::render`] writes the text.

use std::fmt::Write as _;

use crate::histogram::HistogramSnapshot;

/// What a metric family is, as the `# TYPE` line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (resets when the source restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Cumulative buckets, a sum and a count.
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: integers are written exactly (counters of bytes pass
/// 2^53 on a busy server), others as floating point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An exact integer.
    Int(u64),
    /// A floating-point value (NaN and infinities allowed).
    Float(f64),
}

impl From<u64> for Number {
    fn from(v: u64) -> Number {
        Number::Int(v)
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Number {
        Number::Float(v)
    }
}

#[derive(Debug)]
struct Sample {
    /// `_bucket`, `_sum`, `_count` for histograms; empty otherwise.
    suffix: &'static str,
    labels: Vec<(String, String)>,
    value: Number,
}

#[derive(Debug)]
struct Family {
    name: String,
    help: String,
    kind: Kind,
    samples: Vec<Sample>,
}

/// Metric families being collected for one exposition.
#[derive(Debug, Default)]
pub struct Exposition {
    families: Vec<Family>,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Whether a family of this name has been added.
    pub fn has(&self, name: &str) -> bool {
        self.families.iter().any(|f| f.name == name)
    }

    /// The family `name`, created with `help` and `kind` on first use.
    fn family(&mut self, name: &str, help: &str, kind: Kind) -> &mut Family {
        // Linear search: an exposition has tens of families, not thousands.
        let i = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.families.push(Family {
                    name: name.to_string(),
                    help: help.to_string(),
                    kind,
                    samples: Vec::new(),
                });
                self.families.len() - 1
            }
        };
        &mut self.families[i]
    }

    /// Adds a counter sample. `name` ends in `_total` by convention.
    pub fn counter(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: impl Into<Number>,
    ) {
        self.sample(name, help, Kind::Counter, labels, value.into());
    }

    /// Adds a gauge sample.
    pub fn gauge(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: impl Into<Number>,
    ) {
        self.sample(name, help, Kind::Gauge, labels, value.into());
    }

    fn sample(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[(&str, &str)],
        value: Number,
    ) {
        let labels = own(labels);
        self.family(name, help, kind).samples.push(Sample { suffix: "", labels, value });
    }

    /// Adds one histogram (its buckets, sum and count) with these labels.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        h: &HistogramSnapshot,
    ) {
        let base = own(labels);
        let family = self.family(name, help, Kind::Histogram);
        let mut cumulative = 0u64;
        for (bound, count) in h.buckets() {
            cumulative += count;
            let mut labels = base.clone();
            labels.push(("le".to_string(), bound));
            family.samples.push(Sample {
                suffix: "_bucket",
                labels,
                value: Number::Int(cumulative),
            });
        }
        family.samples.push(Sample {
            suffix: "_sum",
            labels: base.clone(),
            value: Number::Float(h.sum_seconds()),
        });
        family.samples.push(Sample {
            suffix: "_count",
            labels: base,
            value: Number::Int(cumulative),
        });
    }

    /// The exposition in Prometheus text format: for each family a `# HELP`
    /// and a `# TYPE` line, then its samples. The one place mcring writes
    /// this format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.families.len() * 256);
        for f in &self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(&f.help));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
            for s in &f.samples {
                out.push_str(&f.name);
                out.push_str(s.suffix);
                if !s.labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in s.labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(k);
                        out.push_str("=\"");
                        escape_label_into(&mut out, v);
                        out.push('"');
                    }
                    out.push('}');
                }
                out.push(' ');
                write_number(&mut out, s.value);
                out.push('\n');
            }
        }
        out
    }
}

fn own(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// HELP text escapes backslash and newline.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Label values escape backslash, double quote and newline.
fn escape_label_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_number(out: &mut String, v: Number) {
    match v {
        Number::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Number::Float(f) if f.is_nan() => out.push_str("NaN"),
        Number::Float(f) if f == f64::INFINITY => out.push_str("+Inf"),
        Number::Float(f) if f == f64::NEG_INFINITY => out.push_str("-Inf"),
        // Rust's shortest round-trip form, which Prometheus parses exactly.
        Number::Float(f) => {
            let _ = write!(out, "{f}");
        }
    }
}

/// Writes a histogram bucket bound as Prometheus `le` values are written:
/// shortest decimal form, `+Inf` for the last bucket.
pub fn le_label(seconds: f64) -> String {
    if seconds.is_infinite() {
        "+Inf".to_string()
    } else {
        format!("{seconds}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::Histogram;
    use std::time::Duration;

    #[test]
    fn families_stay_together_in_first_use_order() {
        let mut e = Exposition::new();
        e.gauge("a_up", "Up.", &[("server", "x")], 1u64);
        e.counter("b_total", "B.", &[("server", "x")], 5u64);
        e.gauge("a_up", "Up.", &[("server", "y")], 0u64);
        let text = e.render();
        assert_eq!(
            text,
            "# HELP a_up Up.\n# TYPE a_up gauge\na_up{server=\"x\"} 1\na_up{server=\"y\"} 0\n\
             # HELP b_total B.\n# TYPE b_total counter\nb_total{server=\"x\"} 5\n"
        );
    }

    #[test]
    fn escapes_labels_and_help_and_writes_special_floats() {
        let mut e = Exposition::new();
        e.gauge("g", "a\\b\nc", &[("l", "q\"\\\n")], f64::NAN);
        e.gauge("g", "", &[], f64::INFINITY);
        e.gauge("g", "", &[], 0.25);
        e.gauge("g", "", &[], u64::MAX);
        let text = e.render();
        assert!(text.contains("# HELP g a\\\\b\\nc\n"), "{text}");
        assert!(text.contains("g{l=\"q\\\"\\\\\\n\"} NaN\n"), "{text}");
        assert!(text.contains("g +Inf\n"));
        assert!(text.contains("g 0.25\n"));
        assert!(text.contains("g 18446744073709551615\n"));
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let h = Histogram::new();
        h.record(Duration::from_micros(5));
        h.record(Duration::from_micros(15));
        h.record(Duration::from_secs(60));
        let mut e = Exposition::new();
        e.histogram("lat_seconds", "Latency.", &[("server", "s")], &h.snapshot());
        let text = e.render();
        assert!(text.contains("# TYPE lat_seconds histogram\n"));
        assert!(text.contains("lat_seconds_bucket{server=\"s\",le=\"0.00001\"} 1\n"), "{text}");
        assert!(text.contains("lat_seconds_bucket{server=\"s\",le=\"0.00002\"} 2\n"), "{text}");
        assert!(text.contains("lat_seconds_bucket{server=\"s\",le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("lat_seconds_bucket{server=\"s\",le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("lat_seconds_count{server=\"s\"} 3\n"), "{text}");
        assert!(text.contains("lat_seconds_sum{server=\"s\"} 60.00002\n"), "{text}");
    }
}
