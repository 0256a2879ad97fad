//! Standard output for commands: buffered, in text or JSON lines, and
//! ending quietly when the reader goes away (`mcring get ... | head`):
//! every write reports a closed pipe as [`Failure::closed_pipe`] instead
//! of panicking.

use std::io::{self, BufWriter, Stdout, Write};

use serde_json::Value;

use crate::failure::Failure;

/// A command's standard output.
pub struct Out {
    w: BufWriter<Stdout>,
    /// `--json`: one JSON object per line.
    pub json: bool,
}

fn write_failure(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure::closed_pipe()
    } else {
        Failure::usage(format!("writing output: {e}"))
    }
}

impl Out {
    /// Standard output, text or JSON.
    pub fn new(json: bool) -> Out {
        Out { w: BufWriter::with_capacity(1 << 16, io::stdout()), json }
    }

    /// Writes bytes as they are.
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Failure> {
        self.w.write_all(b).map_err(write_failure)
    }

    /// Writes one line of text.
    pub fn line(&mut self, s: &str) -> Result<(), Failure> {
        self.bytes(s.as_bytes())?;
        self.bytes(b"\n")
    }

    /// Writes one JSON value as a line.
    pub fn json_line(&mut self, v: &Value) -> Result<(), Failure> {
        serde_json::to_writer(&mut self.w, v).map_err(|e| write_failure(e.into()))?;
        self.bytes(b"\n")
    }

    /// Sends what is buffered (after each interval of a long-running
    /// command, and at the end).
    pub fn flush(&mut self) -> Result<(), Failure> {
        self.w.flush().map_err(write_failure)
    }
}
