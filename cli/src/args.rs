//! The command line: options that apply to every command, accepted
//! anywhere on the line (`--servers`, `--json`), then each command's own
//! flags and arguments. `--` ends the flags: what follows is positional
//! even if it starts with `--`.

use crate::failure::Failure;

/// Options of every command.
#[derive(Debug, Default)]
pub struct Global {
    /// `--servers CONFIG`; without it `MCRING_SERVERS` is used.
    pub servers: Option<String>,
    /// `--json`: JSON lines instead of text.
    pub json: bool,
    /// `-h` / `--help`.
    pub help: bool,
    /// `--version` (of the tool).
    pub version: bool,
}

/// Takes the global options out of `args`, wherever they are; returns them,
/// the command name and the command's own arguments (a `--` is kept so the
/// command's parser treats what follows as positional).
pub fn split(args: Vec<String>) -> Result<(Global, Option<String>, Vec<String>), Failure> {
    let mut global = Global::default();
    let mut command = None;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" => {
                rest.push(a);
                rest.extend(it.by_ref());
                break;
            }
            "--servers" => {
                let v = it.next().ok_or_else(|| Failure::usage("--servers needs a value"))?;
                global.servers = Some(v);
            }
            "--json" => global.json = true,
            "-h" | "--help" => global.help = true,
            "--version" => global.version = true,
            _ => {
                if let Some(v) = a.strip_prefix("--servers=") {
                    global.servers = Some(v.to_string());
                } else if command.is_none() && !a.starts_with('-') {
                    command = Some(a);
                } else {
                    rest.push(a);
                }
            }
        }
    }
    if command.is_none() {
        // `mcring -- get k`: the command is the first word after `--`.
        if let Some(i) = rest.iter().position(|a| a == "--") {
            if i + 1 < rest.len() {
                command = Some(rest.remove(i + 1));
            }
        }
    }
    Ok((global, command, rest))
}

/// A command's flags: name and whether it takes a value.
pub type Spec = &'static [(&'static str, bool)];

/// A command's parsed arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Positional arguments, in order.
    pub positional: Vec<String>,
    flags: Vec<(&'static str, Option<String>)>,
}

/// Parses a command's arguments against its flags. Values are given as
/// `--flag VALUE` or `--flag=VALUE`; an unknown flag is an error.
pub fn parse(command: &str, args: Vec<String>, spec: Spec) -> Result<Parsed, Failure> {
    let mut parsed = Parsed::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--" {
            parsed.positional.extend(it.by_ref());
            break;
        }
        if !a.starts_with("--") {
            parsed.positional.push(a);
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let Some(&(flag, takes_value)) = spec.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = spec.iter().map(|(n, _)| *n).collect();
            return Err(Failure::usage(if known.is_empty() {
                format!("{command}: unknown flag {name}")
            } else {
                format!("{command}: unknown flag {name} (known: {})", known.join(", "))
            }));
        };
        let value = match (takes_value, inline) {
            (true, Some(v)) => Some(v),
            (true, None) => Some(
                it.next()
                    .ok_or_else(|| Failure::usage(format!("{command}: {flag} needs a value")))?,
            ),
            (false, None) => None,
            (false, Some(_)) => {
                return Err(Failure::usage(format!("{command}: {flag} takes no value")))
            }
        };
        parsed.flags.push((flag, value));
    }
    Ok(parsed)
}

impl Parsed {
    /// Whether a flag without value was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| *n == name)
    }

    /// The last value given for a flag.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.flags.iter().rev().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_deref())
    }

    /// A flag's value parsed as `T`, or `default` when absent.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Failure> {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| Failure::usage(format!("bad {name} {v:?}"))),
        }
    }

    /// A flag's value in seconds (fractions allowed), or `default`.
    pub fn seconds(&self, name: &str, default: f64) -> Result<std::time::Duration, Failure> {
        let s: f64 = self.number(name, default)?;
        if !(0.0..=1e9).contains(&s) {
            return Err(Failure::usage(format!("bad {name} {s}: expected seconds >= 0")));
        }
        Ok(std::time::Duration::from_secs_f64(s))
    }

    /// Fails unless there are between `min` and `max` positional arguments.
    pub fn expect(&self, min: usize, max: usize, usage: &str) -> Result<(), Failure> {
        let n = self.positional.len();
        if n < min || n > max {
            return Err(Failure::usage(format!("usage: mcring {usage}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn global_options_anywhere() {
        let (g, cmd, rest) = split(v(&["get", "k", "--servers", "a:1", "--json", "k2"])).unwrap();
        assert_eq!(g.servers.as_deref(), Some("a:1"));
        assert!(g.json);
        assert_eq!(cmd.as_deref(), Some("get"));
        assert_eq!(rest, v(&["k", "k2"]));
        let (g, cmd, rest) = split(v(&["--servers=b:2", "stats", "--server", "x"])).unwrap();
        assert_eq!(g.servers.as_deref(), Some("b:2"));
        assert_eq!(cmd.as_deref(), Some("stats"));
        assert_eq!(rest, v(&["--server", "x"]));
    }

    #[test]
    fn double_dash_ends_flags() {
        let (g, cmd, rest) = split(v(&["set", "k", "--", "--json"])).unwrap();
        assert!(!g.json);
        assert_eq!(cmd.as_deref(), Some("set"));
        let p = parse("set", rest, &[("--ttl", true)]).unwrap();
        assert_eq!(p.positional, v(&["k", "--json"]));
    }

    #[test]
    fn command_flags() {
        let spec: Spec = &[("--ttl", true), ("--yes", false)];
        let p = parse("x", v(&["a", "--ttl=5", "--yes", "b", "--ttl", "7"]), spec).unwrap();
        assert_eq!(p.positional, v(&["a", "b"]));
        assert!(p.flag("--yes"));
        assert_eq!(p.number::<u32>("--ttl", 0).unwrap(), 7);
        assert!(parse("x", v(&["--bogus"]), spec).unwrap_err().message.contains("unknown flag"));
        assert!(parse("x", v(&["--ttl"]), spec).unwrap_err().message.contains("needs a value"));
        assert!(parse("x", v(&["--yes=1"]), spec).unwrap_err().message.contains("takes no value"));
    }
}
