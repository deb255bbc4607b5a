//! Configuration shared by every server: flags, environment, file, defaults.
//!
//! Every flag of a server can also be set by an environment variable named
//! after the server's prefix and the flag (`--timeout-secs` of the server with
//! prefix `MCP_KUBERNETES` is `MCP_KUBERNETES_TIMEOUT_SECS`), or by a key in a TOML config file
//! (`timeout-secs = 30` or `timeout_secs = 30`), given by `--config FILE` or
//! `PREFIX_CONFIG`. Precedence: **flag > environment > file > default**.
//!
//! # How
//!
//! clap already implements flag > env > default. The file is slotted in below
//! the environment by turning its values into the arguments' *defaults*
//! before parsing: a default set from the file loses to a flag or a variable
//! and wins over the built-in default, exactly the order wanted, and `--help`
//! shows the effective default. Unknown keys in the file are an error that
//! lists the valid keys, so a typo is never silently ignored.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches};

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// The config file has a key no flag matches.
    #[error("config file {path}: unknown key `{key}`; valid keys: {valid}")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The valid keys, comma-separated.
        valid: String,
    },
    /// The config file has a value of a shape no flag takes (a table).
    #[error("config file {path}: key `{key}` must be a string, number, boolean or array")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// Parsing the flags failed; clap's error, printed as clap prints it.
    #[error(transparent)]
    Clap(#[from] clap::Error),
}

impl ConfigError {
    /// Prints the error the way a command-line tool should and exits: clap's
    /// own errors (and `--help`/`--version`) keep clap's format and exit code.
    pub fn exit(self) -> ! {
        match self {
            ConfigError::Clap(e) => e.exit(),
            other => {
                eprintln!("error: {other}");
                std::process::exit(2)
            }
        }
    }
}

/// The help text appended to every server's `--help`.
pub fn precedence_help(prefix: &str) -> String {
    format!(
        "Configuration: every flag can also be set with an environment variable \
         {prefix}_<FLAG> (upper case, '-' as '_'), or as a key in a TOML file given by \
         --config FILE or {prefix}_CONFIG. Precedence: flag > environment > config file > default."
    )
}

/// Parses the process's arguments into `C` with the environment prefix
/// `prefix` (e.g. `MCP_KUBERNETES`) and an optional config file, exiting with a clear
/// message on error.
pub fn parse_or_exit<C: CommandFactory + FromArgMatches>(prefix: &str) -> C {
    match parse_from(prefix, std::env::args_os()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    }
}

/// Parses `args` (the first is the program name) into `C`; see the module
/// docs for the precedence rules.
pub fn parse_from<C, I, T>(prefix: &str, args: I) -> Result<C, ConfigError>
where
    C: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let config_env = format!("{prefix}_CONFIG");
    let config_path =
        find_config_flag(&args).or_else(|| std::env::var_os(&config_env).map(PathBuf::from));
    let file = match &config_path {
        Some(path) => read_file(path)?,
        None => BTreeMap::new(),
    };

    let mut command = C::command()
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .env(config_env)
                .help("TOML config file; its keys are the long flag names")
                .action(ArgAction::Set),
        )
        .after_help(precedence_help(prefix));

    // Check the file's keys against the flags before applying them.
    let flags: Vec<(String, String)> = command
        .get_arguments()
        .filter_map(|a| {
            a.get_long()
                .map(|l| (l.to_string(), a.get_id().to_string()))
        })
        .filter(|(long, _)| long != "config" && long != "help" && long != "version")
        .collect();
    let mut file_defaults: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, values) in file {
        let wanted = key.replace('_', "-");
        match flags.iter().find(|(long, _)| *long == wanted) {
            Some((_, id)) => {
                file_defaults.insert(id.clone(), values);
            }
            None => {
                return Err(ConfigError::UnknownKey {
                    path: config_path.clone().unwrap_or_default(),
                    key,
                    valid: flags
                        .iter()
                        .map(|(l, _)| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }

    command = command.mut_args(|arg| {
        let Some(long) = arg.get_long().map(str::to_string) else {
            return arg;
        };
        if long == "help" || long == "version" || long == "config" {
            return arg;
        }
        let mut arg = arg;
        if arg.get_env().is_none() {
            let var = format!("{prefix}_{}", long.replace('-', "_").to_ascii_uppercase());
            arg = arg.env(var);
        }
        if let Some(values) = file_defaults.get(arg.get_id().as_str()) {
            arg = arg.default_values(values.clone());
        }
        arg
    });

    let mut matches = command.try_get_matches_from_mut(args)?;
    Ok(C::from_arg_matches_mut(&mut matches)?)
}

/// `--config FILE` or `--config=FILE`, before clap runs.
fn find_config_flag(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let s = arg.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

fn read_file(path: &Path) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Toml {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let values = match value {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| scalar(&v))
                .collect::<Option<Vec<_>>>(),
            other => scalar(&other).map(|v| vec![v]),
        };
        match values {
            Some(values) => {
                out.insert(key, values);
            }
            None => {
                return Err(ConfigError::BadValue {
                    path: path.to_path_buf(),
                    key,
                });
            }
        }
    }
    Ok(out)
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}
