//! Which servers a command talks to: `--servers CONFIG`, else the
//! `MCRING_SERVERS` environment variable, for every command alike.

use mcring::{Client, Config, ServerSpec};

use crate::args::Global;
use crate::failure::Failure;

/// The config of the command line. `extra` tokens (from `locate`) add
/// options; servers among them replace the configured ones.
pub fn load_config(global: &Global, extra: &[String]) -> Result<Config, Failure> {
    let base = match &global.servers {
        Some(s) => s.clone(),
        None => std::env::var("MCRING_SERVERS").unwrap_or_default(),
    };
    let mut config = Config::parse(&base)?;
    let extra_text = extra.join(" ");
    let more = Config::parse(&extra_text)?;
    if !more.servers.is_empty() {
        config.servers = more.servers;
    }
    for token in extra.iter().flat_map(|t| t.split_whitespace()) {
        if let Some((name, value)) = mcring::config::option_of(token) {
            config.set_option(name, value)?;
        }
    }
    config.validate()?;
    if config.servers.is_empty() && config.discover.is_empty() {
        return Err(Failure::usage("no servers: use --servers CONFIG or set MCRING_SERVERS"));
    }
    Ok(config)
}

/// A client for the command line's config.
pub fn connect(global: &Global) -> Result<Client, Failure> {
    Ok(Client::new(load_config(global, &[])?)?)
}

/// The config reduced to the one server named `name` (as `host:port`, the
/// socket path, or the token with its weight), for `--server`.
pub fn only_server(mut config: Config, name: &str) -> Result<Config, Failure> {
    let found: Vec<ServerSpec> = config
        .servers
        .iter()
        .filter(|s| s.name() == name || s.to_string() == name)
        .cloned()
        .collect();
    if found.is_empty() {
        let names: Vec<String> = config.servers.iter().map(|s| s.name()).collect();
        return Err(Failure::usage(format!(
            "--server {name}: not in the config (servers: {})",
            names.join(" ")
        )));
    }
    config.servers = found;
    Ok(config)
}

/// The client of `config`, reduced to `--server` when given.
pub fn connect_to(global: &Global, server: Option<&str>) -> Result<Client, Failure> {
    let config = load_config(global, &[])?;
    let config = match server {
        Some(name) => only_server(config, name)?,
        None => config,
    };
    Ok(Client::new(config)?)
}
