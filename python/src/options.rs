//! `Client(servers, **options)` to the engine's `Config`.
//!
//! `servers` is a config string (the CLI's `--servers` format) or a list of
//! `"host:port[:weight]"` strings; keyword arguments are the config string's
//! options, their values written as the config string would (`True` is
//! `true`, `1000` is `1000`, a list of gutter servers is joined with commas).

use mcring::config::{Config, Serializer, ServerSpec};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::errors::config_error;

/// The config of `Client(servers, **options)`, and whether values are raw
/// (`value_format="raw"`: bytes and the caller's flags, no codec; the
/// engine's formats are `php` and `pylibmc`).
pub fn config_of(
    servers: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(Config, bool)> {
    let py = servers.py();
    let mut config = if let Ok(text) = servers.cast::<PyString>() {
        Config::parse(&text.to_cow()?).map_err(|e| config_error(py, e.to_string()))?
    } else {
        let mut config = Config::default();
        let entries = servers.try_iter().map_err(|_| {
            config_error(
                py,
                "servers must be a config string or a list of \"host:port[:weight]\"".into(),
            )
        })?;
        for entry in entries {
            let entry = entry?;
            let token = entry.cast::<PyString>().map_err(|_| {
                config_error(py, format!("server entries must be str, not {}", type_name(&entry)))
            })?;
            let token = token.to_cow()?;
            let option = mcring::config::option_of(&token);
            if option.is_some() || token.contains(char::is_whitespace) || token.is_empty() {
                // A password passed as a server entry is named, not shown.
                let shown = match option {
                    Some((name, _)) if mcring::config::is_secret_option(name) => {
                        format!("{name}=<redacted>")
                    }
                    _ if token.contains("password") => "<redacted>".to_string(),
                    _ => format!("{token:?}"),
                };
                return Err(config_error(
                    py,
                    format!(
                        "bad server {shown}: write one \"host:port[:weight][,tls=true]\" per \
                         entry and pass options as keyword arguments"
                    ),
                ));
            }
            let spec = ServerSpec::parse(&token).map_err(|e| config_error(py, e.to_string()))?;
            config.servers.push(spec);
        }
        config
    };
    let mut raw = false;
    if let Some(options) = options {
        for (name, value) in options.iter() {
            let name = name.cast::<PyString>()?.to_cow()?.into_owned();
            let Some(text) = option_text(&name, &value)? else { continue };
            if name == "value_format" && text == "raw" {
                raw = true;
                continue;
            }
            config.set_option(&name, &text).map_err(|e| config_error(py, e.to_string()))?;
        }
    }
    if config.serializer == Serializer::Php {
        return Err(config_error(
            py,
            "serializer=\"php\" is PHP's serialize(), which Python cannot write; \
             use \"json\" (readable by PHP) or \"pickle\" (Python only)"
                .into(),
        ));
    }
    config.validate().map_err(|e| config_error(py, e.to_string()))?;
    Ok((config, raw))
}

/// An option's value as config-string text; `None` leaves the default.
fn option_text(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let py = value.py();
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Some(if b.is_true() { "true" } else { "false" }.to_string()));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Some(value.str()?.to_cow()?.into_owned()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.into_owned()));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut parts = Vec::new();
        for item in value.try_iter()? {
            let item = item?;
            let text = item
                .cast::<PyString>()
                .map_err(|_| config_error(py, format!("{name}: list entries must be str")))?;
            parts.push(text.to_cow()?.into_owned());
        }
        return Ok(Some(parts.join(",")));
    }
    Err(config_error(py, format!("{name}: expected str, int or bool, not {}", type_name(value))))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}
