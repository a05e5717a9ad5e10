//! Where a run's base URL, cache root and architectures come from
//! (BEHAVIOR.md §10, "Defaults and configuration").
//!
//! Each setting is taken from the first of: its flag, our `DEPS_*`
//! variable, podplane's `PODPLANE_*` variables, podplane's config file, the
//! default; an empty variable or config value counts as unset. Every resolved
//! value remembers its [`Source`] so `status` and `download` can say where it
//! came from. The defaults follow podplane's own directory rules, so `deps`
//! and podplane share one cache.
//!
//! This module reads the environment only through a lookup function and the
//! home directory only through `HOME`/`USERPROFILE`, so tests inject both. It
//! reads podplane's config file and never writes it; it never moves or
//! creates a cache either: a cache left at the older default only earns a
//! hint ([`Settings::move_hint`]).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the manifests are published when nothing else says.
pub const DEFAULT_BASE_URL: &str = "https://deps.podplane.dev";

/// The variables naming the base URL, in the order they are consulted.
pub const BASE_URL_VARS: [&str; 3] = ["DEPS_BASE_URL", "PODPLANE_DEPS_URL", "PODPLANE_DEPS_BASE_URL"];

/// The variables naming the cache root, in the order they are consulted.
pub const CACHE_DIR_VARS: [&str; 2] = ["DEPS_CACHE_DIR", "PODPLANE_DEPS_CACHE_DIR"];

/// The variable naming the default architecture.
pub const ARCH_VAR: &str = "PODPLANE_ARCH";

/// The config file keys of the base URL, the cache root and the architecture.
const BASE_URL_KEY: &str = "deps_url";
const CACHE_DIR_KEY: &str = "deps_cache_dir";
const ARCH_KEY: &str = "arch";

/// What can go wrong while resolving the settings or reading a cluster config.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `-f` cluster config nests arrays and objects deeper than we read.
    #[error("cluster config {} nests arrays and objects more than {limit} levels deep, which no cluster config does: is it the right file?", path.display())]
    ClusterConfigTooDeep {
        /// The cluster config file.
        path: PathBuf,
        /// The deepest nesting read.
        limit: usize,
    },
    /// podplane's config file exists but cannot be read.
    #[error("could not read podplane's config file {}: {source}", path.display())]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// podplane's config file is not JSON.
    #[error("podplane's config file {} is not valid JSON: {source}", path.display())]
    ParseConfig {
        /// The config file.
        path: PathBuf,
        /// Where the JSON breaks.
        #[source]
        source: serde_json::Error,
    },
    /// podplane's config file is JSON but not an object.
    #[error("podplane's config file {} is not a JSON object", path.display())]
    ConfigNotObject {
        /// The config file.
        path: PathBuf,
    },
    /// A key of podplane's config file holds something other than a string.
    #[error("podplane's config file {}: `{key}` must be a string", path.display())]
    ConfigNotString {
        /// The config file.
        path: PathBuf,
        /// The key.
        key: &'static str,
    },
    /// No flag, variable or config file names the cache root and there is no home directory.
    #[error("no home directory (HOME is not set): pass --cache-dir or set DEPS_CACHE_DIR")]
    NoHome,
    /// A variable or the config file names an architecture we do not support.
    #[error("architecture `{value}` from {from}: {source}")]
    Arch {
        /// The value given.
        value: String,
        /// Where it was given.
        from: Source,
        /// Why it was refused.
        #[source]
        source: Box<deps_manifest::Error>,
    },
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--cache-dir`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A key of podplane's config file.
    ConfigFile {
        /// The config file.
        path: PathBuf,
        /// The key.
        key: &'static str,
    },
    /// The built-in default (for the architecture: this machine's).
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Env(var) => write!(f, "{var}"),
            Source::ConfigFile { path, key } => write!(f, "`{key}` in {}", path.display()),
            Source::Default => write!(f, "the default"),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

/// The command-line values, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--cache-dir`.
    pub cache_dir: Option<PathBuf>,
    /// `--arch` (empty when not given).
    pub arch: Vec<String>,
}

/// Which of podplane's directory rules applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// XDG directories: `~/.config/podplane`, `~/.cache/podplane`.
    Linux,
    /// macOS, Windows and the rest: one `~/.podplane` holding `config` and `cache`.
    Other,
}

impl Platform {
    /// The rule of the machine this runs on (podplane tests `GOOS == "linux"`).
    pub fn current() -> Self {
        if cfg!(target_os = "linux") { Platform::Linux } else { Platform::Other }
    }
}

/// Reads one environment variable.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The base URL, cache root and architectures a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where the manifests are published.
    pub base_url: Setting<String>,
    /// The cache root.
    pub cache_dir: Setting<PathBuf>,
    /// The architectures when `--arch` is not given (normalized, except a flag's).
    pub archs: Setting<Vec<String>>,
    /// podplane's architecture (`PODPLANE_ARCH`, config `arch`, else the host's), whose artifacts keep podplane's paths.
    pub primary_arch: Setting<String>,
    /// A cache at the older default location, when the new default is unused.
    pub old_cache: Option<PathBuf>,
}

impl Settings {
    /// Resolves every setting from the flags, the environment and podplane's config file.
    pub fn resolve(flags: &Flags, env: Lookup<'_>, platform: Platform) -> Result<Settings, Error> {
        let var = |name: &str| env(name).filter(|value| !value.is_empty());
        let home = ["HOME", "USERPROFILE"].into_iter().find_map(&var).map(PathBuf::from);
        let config = match config_file(&var, home.as_deref(), platform) {
            Some(path) => ConfigFile::read(&path)?,
            None => ConfigFile::default(),
        };

        let base_url = if let Some(url) = &flags.base_url {
            Setting::new(url.clone(), Source::Flag("--base-url"))
        } else if let Some((name, url)) = first_var(&var, &BASE_URL_VARS) {
            Setting::new(url.to_string_lossy().into_owned(), Source::Env(name))
        } else if let Some(setting) = config.get(BASE_URL_KEY) {
            setting
        } else {
            Setting::new(DEFAULT_BASE_URL.to_owned(), Source::Default)
        };

        let default_cache = cache_home(&var, home.as_deref(), platform).map(|dir| dir.join("deps"));
        let cache_dir = if let Some(dir) = &flags.cache_dir {
            Setting::new(dir.clone(), Source::Flag("--cache-dir"))
        } else if let Some((name, dir)) = first_var(&var, &CACHE_DIR_VARS) {
            Setting::new(PathBuf::from(dir), Source::Env(name))
        } else if let Some(Setting { value, source }) = config.get(CACHE_DIR_KEY) {
            Setting::new(PathBuf::from(value), source)
        } else {
            Setting::new(default_cache.clone().ok_or(Error::NoHome)?, Source::Default)
        };

        // podplane's own arch (its variable, its config file, the host's): the
        // primary one, whose artifacts keep podplane's paths; `--arch` only
        // chooses what this run downloads.
        let podplane_archs = if let Some(value) = var(ARCH_VAR) {
            checked_archs(Setting::new(value.to_string_lossy().into_owned(), Source::Env(ARCH_VAR)))?
        } else if let Some(setting) = config.get(ARCH_KEY) {
            checked_archs(setting)?
        } else {
            Setting::new(vec![deps_manifest::host_arch().to_owned()], Source::Default)
        };
        let primary =
            podplane_archs.value.first().cloned().unwrap_or_else(|| deps_manifest::host_arch().to_owned());
        let primary_arch = Setting::new(primary, podplane_archs.source.clone());
        let archs = if flags.arch.is_empty() {
            podplane_archs
        } else {
            Setting::new(flags.arch.clone(), Source::Flag("--arch"))
        };

        let old_cache = match (&cache_dir.source, platform, &home) {
            (Source::Default, Platform::Linux, Some(home)) => {
                let old = home.join(".podplane").join("cache").join("deps");
                (old != cache_dir.value && is_unused(&cache_dir.value) && old.is_dir()).then_some(old)
            }
            _ => None,
        };
        Ok(Settings { base_url, cache_dir, archs, primary_arch, old_cache })
    }

    /// Resolves from this process's environment, on this machine's platform.
    pub fn from_process(flags: &Flags) -> Result<Settings, Error> {
        Settings::resolve(flags, &|name| std::env::var_os(name), Platform::current())
    }

    /// `cache: <dir> (from <source>)` and `base URL: <url> (from <source>)`, two lines.
    pub fn describe(&self) -> String {
        format!(
            "cache: {} (from {})\nbase URL: {} (from {})",
            self.cache_dir.value.display(),
            self.cache_dir.source,
            self.base_url.value,
            self.base_url.source
        )
    }

    /// How to move a cache left at the older default into the new one, when there is one.
    pub fn move_hint(&self) -> Option<String> {
        let old = self.old_cache.as_ref()?;
        let new = &self.cache_dir.value;
        let mut steps = Vec::new();
        if new.exists() {
            steps.push(format!("rmdir {}", shell_word(new)));
        } else if let Some(parent) = new.parent().filter(|p| !p.exists()) {
            steps.push(format!("mkdir -p {}", shell_word(parent)));
        }
        steps.push(format!("mv {} {}", shell_word(old), shell_word(new)));
        Some(format!(
            "note: the cache moved to {} (podplane's cache directory); an older one is at {}. \
             To keep using it instead of downloading again, run: {}",
            new.display(),
            old.display(),
            steps.join(" && ")
        ))
    }
}

/// The first set variable of `names`, with its value.
fn first_var(
    var: &dyn Fn(&str) -> Option<OsString>,
    names: &[&'static str],
) -> Option<(&'static str, OsString)> {
    names.iter().find_map(|name| var(name).map(|value| (*name, value)))
}

/// One of podplane's base directories: `$<xdg>/podplane` when set, else the platform default.
fn podplane_dir(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<&Path>,
    platform: Platform,
    xdg: &str,
    linux_default: &str,
    other_default: &str,
) -> Option<PathBuf> {
    if let Some(dir) = var(xdg) {
        return Some(PathBuf::from(dir).join("podplane"));
    }
    let home = home?;
    Some(match platform {
        Platform::Linux => home.join(linux_default).join("podplane"),
        Platform::Other => home.join(".podplane").join(other_default),
    })
}

/// podplane's config file: `$XDG_CONFIG_HOME/podplane/config.json` or the platform default.
fn config_file(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<&Path>,
    platform: Platform,
) -> Option<PathBuf> {
    podplane_dir(var, home, platform, "XDG_CONFIG_HOME", ".config", "config")
        .map(|dir| dir.join("config.json"))
}

/// podplane's cache directory: `$XDG_CACHE_HOME/podplane` or the platform default.
fn cache_home(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<&Path>,
    platform: Platform,
) -> Option<PathBuf> {
    podplane_dir(var, home, platform, "XDG_CACHE_HOME", ".cache", "cache")
}

/// A directory that does not exist or is empty.
fn is_unused(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(err) => err.kind() == std::io::ErrorKind::NotFound,
    }
}

/// An architecture list from a variable or the config file, normalized, or an error naming where it came from.
fn checked_archs(setting: Setting<String>) -> Result<Setting<Vec<String>>, Error> {
    match deps_manifest::normalize_archs(std::slice::from_ref(&setting.value)) {
        Ok(archs) => Ok(Setting::new(archs, setting.source)),
        Err(err) => Err(Error::Arch { value: setting.value, from: setting.source, source: Box::new(err) }),
    }
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-~+:,@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The keys of podplane's config file that `deps` reads.
#[derive(Debug, Default)]
struct ConfigFile {
    path: PathBuf,
    values: Vec<(&'static str, String)>,
}

impl ConfigFile {
    /// Reads the file; a missing one (or one holding only whitespace) sets nothing.
    fn read(path: &Path) -> Result<ConfigFile, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(source) => return Err(Error::ReadConfig { path: path.to_owned(), source }),
        };
        ConfigFile::parse(path, &text)
    }

    /// The `deps_url`, `deps_cache_dir` and `arch` of a config file's text; other keys are podplane's.
    fn parse(path: &Path, text: &str) -> Result<ConfigFile, Error> {
        let mut config = ConfigFile { path: path.to_owned(), values: Vec::new() };
        if text.trim().is_empty() {
            return Ok(config);
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|source| Error::ParseConfig { path: path.to_owned(), source })?;
        let Value::Object(object) = value else {
            return Err(Error::ConfigNotObject { path: path.to_owned() });
        };
        for key in [BASE_URL_KEY, CACHE_DIR_KEY, ARCH_KEY] {
            match object.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) if text.is_empty() => {}
                Some(Value::String(text)) => config.values.push((key, text.clone())),
                Some(_) => return Err(Error::ConfigNotString { path: path.to_owned(), key }),
            }
        }
        Ok(config)
    }

    /// A key's value, with the file as its source.
    fn get(&self, key: &'static str) -> Option<Setting<String>> {
        let (_, value) = self.values.iter().find(|(k, _)| *k == key)?;
        Some(Setting::new(value.clone(), Source::ConfigFile { path: self.path.clone(), key }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// An environment holding exactly these variables.
    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.into())).collect();
        move |name| map.get(name).cloned()
    }

    /// Settings for a home at `home` (a temp dir) plus `vars`.
    fn resolve(flags: &Flags, home: &Path, vars: &[(&str, &str)], platform: Platform) -> Settings {
        let home = home.to_str().unwrap().to_owned();
        let mut all = vec![("HOME", home.as_str())];
        all.extend_from_slice(vars);
        Settings::resolve(flags, &env(&all), platform).unwrap()
    }

    fn write_config(home: &Path, text: &str) -> PathBuf {
        let path = home.join(".config/podplane/config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_follow_podplanes_directories_on_linux() {
        let home = tempfile::tempdir().unwrap();
        let s = resolve(&Flags::default(), home.path(), &[], Platform::Linux);
        assert_eq!(s.base_url, Setting::new(DEFAULT_BASE_URL.to_owned(), Source::Default));
        assert_eq!(s.cache_dir, Setting::new(home.path().join(".cache/podplane/deps"), Source::Default));
        assert_eq!(s.archs, Setting::new(vec![deps_manifest::host_arch().to_owned()], Source::Default));
        assert_eq!(s.old_cache, None);
    }

    #[test]
    fn defaults_live_under_dot_podplane_elsewhere() {
        let home = tempfile::tempdir().unwrap();
        let s = resolve(&Flags::default(), home.path(), &[], Platform::Other);
        assert_eq!(s.cache_dir.value, home.path().join(".podplane").join("cache").join("deps"));
    }

    #[test]
    fn xdg_cache_home_moves_the_default_cache() {
        let home = tempfile::tempdir().unwrap();
        let xdg = home.path().join("xdg-cache");
        for platform in [Platform::Linux, Platform::Other] {
            let s = resolve(
                &Flags::default(),
                home.path(),
                &[("XDG_CACHE_HOME", xdg.to_str().unwrap())],
                platform,
            );
            assert_eq!(s.cache_dir, Setting::new(xdg.join("podplane/deps"), Source::Default));
        }
    }

    #[test]
    fn userprofile_is_the_home_when_home_is_unset() {
        let home = tempfile::tempdir().unwrap();
        let vars = env(&[("USERPROFILE", home.path().to_str().unwrap())]);
        let s = Settings::resolve(&Flags::default(), &vars, Platform::Other).unwrap();
        assert_eq!(s.cache_dir.value, home.path().join(".podplane").join("cache").join("deps"));
    }

    #[test]
    fn no_home_is_an_error_only_when_the_default_cache_is_needed() {
        let err = Settings::resolve(&Flags::default(), &env(&[]), Platform::Linux).unwrap_err();
        assert!(matches!(err, Error::NoHome), "{err}");
        assert!(err.to_string().contains("--cache-dir"), "{err}");
        let s =
            Settings::resolve(&Flags::default(), &env(&[("DEPS_CACHE_DIR", "/c")]), Platform::Linux).unwrap();
        assert_eq!(s.cache_dir.value, PathBuf::from("/c"));
    }

    #[test]
    fn base_url_order_is_flag_deps_podplane_config_default() {
        let home = tempfile::tempdir().unwrap();
        let config = write_config(home.path(), r#"{"deps_url": "https://config.example"}"#);
        let all = [
            ("DEPS_BASE_URL", "https://deps.example"),
            ("PODPLANE_DEPS_URL", "https://podplane.example"),
            ("PODPLANE_DEPS_BASE_URL", "https://older.example"),
        ];
        let flag = Flags { base_url: Some("https://flag.example".to_owned()), ..Flags::default() };
        let url = |flags: &Flags, vars: &[(&str, &str)]| {
            resolve(flags, home.path(), vars, Platform::Linux).base_url
        };

        assert_eq!(
            url(&flag, &all),
            Setting::new("https://flag.example".to_owned(), Source::Flag("--base-url"))
        );
        let none = Flags::default();
        assert_eq!(
            url(&none, &all),
            Setting::new("https://deps.example".to_owned(), Source::Env("DEPS_BASE_URL"))
        );
        assert_eq!(
            url(&none, &all[1..]),
            Setting::new("https://podplane.example".to_owned(), Source::Env("PODPLANE_DEPS_URL"))
        );
        assert_eq!(
            url(&none, &all[2..]),
            Setting::new("https://older.example".to_owned(), Source::Env("PODPLANE_DEPS_BASE_URL"))
        );
        assert_eq!(
            url(&none, &[]),
            Setting::new(
                "https://config.example".to_owned(),
                Source::ConfigFile { path: config.clone(), key: "deps_url" }
            )
        );
        std::fs::remove_file(&config).unwrap();
        assert_eq!(url(&none, &[]).source, Source::Default);
    }

    #[test]
    fn cache_dir_order_is_flag_deps_podplane_config_default() {
        let home = tempfile::tempdir().unwrap();
        let config = write_config(home.path(), r#"{"deps_cache_dir": "/from/config"}"#);
        let all = [("DEPS_CACHE_DIR", "/from/deps"), ("PODPLANE_DEPS_CACHE_DIR", "/from/podplane")];
        let dir = |flags: &Flags, vars: &[(&str, &str)]| {
            resolve(flags, home.path(), vars, Platform::Linux).cache_dir
        };

        let flag = Flags { cache_dir: Some("/from/flag".into()), ..Flags::default() };
        assert_eq!(dir(&flag, &all), Setting::new("/from/flag".into(), Source::Flag("--cache-dir")));
        let none = Flags::default();
        assert_eq!(dir(&none, &all), Setting::new("/from/deps".into(), Source::Env("DEPS_CACHE_DIR")));
        assert_eq!(
            dir(&none, &all[1..]),
            Setting::new("/from/podplane".into(), Source::Env("PODPLANE_DEPS_CACHE_DIR"))
        );
        assert_eq!(
            dir(&none, &[]),
            Setting::new("/from/config".into(), Source::ConfigFile { path: config, key: "deps_cache_dir" })
        );
    }

    #[test]
    fn arch_order_is_flag_podplane_config_host() {
        let home = tempfile::tempdir().unwrap();
        let config = write_config(home.path(), r#"{"arch": "x86_64"}"#);
        let archs =
            |flags: &Flags, vars: &[(&str, &str)]| resolve(flags, home.path(), vars, Platform::Linux).archs;

        let flag = Flags { arch: vec!["arm64".to_owned()], ..Flags::default() };
        let s = resolve(&flag, home.path(), &[("PODPLANE_ARCH", "amd64")], Platform::Linux);
        assert_eq!(s.archs, Setting::new(vec!["arm64".to_owned()], Source::Flag("--arch")));
        assert_eq!(
            s.primary_arch,
            Setting::new("amd64".to_owned(), Source::Env("PODPLANE_ARCH")),
            "--arch is not podplane's"
        );
        let none = Flags::default();
        assert_eq!(
            archs(&none, &[("PODPLANE_ARCH", "aarch64")]),
            Setting::new(vec!["arm64".to_owned()], Source::Env("PODPLANE_ARCH"))
        );
        assert_eq!(
            archs(&none, &[]),
            Setting::new(vec!["amd64".to_owned()], Source::ConfigFile { path: config, key: "arch" })
        );
    }

    #[test]
    fn an_unknown_arch_names_where_it_came_from() {
        let home = tempfile::tempdir().unwrap();
        let vars = env(&[("HOME", home.path().to_str().unwrap()), ("PODPLANE_ARCH", "sparc")]);
        let err = Settings::resolve(&Flags::default(), &vars, Platform::Linux).unwrap_err();
        assert!(err.to_string().contains("`sparc` from PODPLANE_ARCH"), "{err}");
    }

    #[test]
    fn empty_variables_and_config_values_count_as_unset() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), r#"{"deps_url": "", "deps_cache_dir": null}"#);
        let vars = [
            ("DEPS_BASE_URL", ""),
            ("PODPLANE_DEPS_URL", "https://podplane.example"),
            ("DEPS_CACHE_DIR", ""),
        ];
        let s = resolve(&Flags::default(), home.path(), &vars, Platform::Linux);
        assert_eq!(s.base_url.source, Source::Env("PODPLANE_DEPS_URL"));
        assert_eq!(s.cache_dir.source, Source::Default);
        let s = resolve(&Flags::default(), home.path(), &[("XDG_CACHE_HOME", "")], Platform::Linux);
        assert_eq!(s.cache_dir.value, home.path().join(".cache/podplane/deps"));
    }

    #[test]
    fn xdg_config_home_moves_the_config_file() {
        let home = tempfile::tempdir().unwrap();
        let xdg = home.path().join("elsewhere");
        std::fs::create_dir_all(xdg.join("podplane")).unwrap();
        std::fs::write(xdg.join("podplane/config.json"), r#"{"deps_url": "https://xdg.example"}"#).unwrap();
        write_config(home.path(), r#"{"deps_url": "https://ignored.example"}"#);
        let s = resolve(
            &Flags::default(),
            home.path(),
            &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())],
            Platform::Linux,
        );
        assert_eq!(s.base_url.value, "https://xdg.example");
    }

    #[test]
    fn config_file_keeps_podplanes_other_keys_to_itself() {
        let text =
            r#"{"config": {"version": 1}, "auth": {}, "clusters": {}, "arch": "arm64", "verbose": true}"#;
        let config = ConfigFile::parse(Path::new("/c.json"), text).unwrap();
        assert_eq!(config.values, vec![("arch", "arm64".to_owned())]);
        assert!(ConfigFile::parse(Path::new("/c.json"), " \n").unwrap().values.is_empty());
    }

    #[test]
    fn a_malformed_config_file_is_an_error_naming_it() {
        let home = tempfile::tempdir().unwrap();
        let vars = env(&[("HOME", home.path().to_str().unwrap())]);
        for (text, says) in [
            ("{\"deps_url\": ", "is not valid JSON"),
            ("[1, 2]", "is not a JSON object"),
            (r#"{"deps_cache_dir": 7}"#, "`deps_cache_dir` must be a string"),
        ] {
            let path = write_config(home.path(), text);
            let err = Settings::resolve(&Flags::default(), &vars, Platform::Linux).unwrap_err().to_string();
            assert!(err.contains(&path.display().to_string()) && err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn an_unreadable_config_file_is_an_error_naming_it() {
        let home = tempfile::tempdir().unwrap();
        // A directory where the file should be cannot be read as one, even as root.
        let path = home.path().join(".config/podplane/config.json");
        std::fs::create_dir_all(&path).unwrap();
        let vars = env(&[("HOME", home.path().to_str().unwrap())]);
        let err = Settings::resolve(&Flags::default(), &vars, Platform::Linux).unwrap_err();
        assert!(matches!(err, Error::ReadConfig { .. }) && err.to_string().contains("config.json"), "{err}");
    }

    #[test]
    fn describe_says_where_each_value_came_from() {
        let s = Settings {
            base_url: Setting::new("https://m.example".to_owned(), Source::Env("PODPLANE_DEPS_URL")),
            cache_dir: Setting::new(
                "/c".into(),
                Source::ConfigFile { path: "/h/.config/podplane/config.json".into(), key: "deps_cache_dir" },
            ),
            archs: Setting::new(vec!["amd64".to_owned()], Source::Default),
            primary_arch: Setting::new("amd64".to_owned(), Source::Default),
            old_cache: None,
        };
        assert_eq!(
            s.describe(),
            "cache: /c (from `deps_cache_dir` in /h/.config/podplane/config.json)\n\
             base URL: https://m.example (from PODPLANE_DEPS_URL)"
        );
    }

    #[test]
    fn an_old_default_cache_earns_a_hint_while_the_new_one_is_unused() {
        let home = tempfile::tempdir().unwrap();
        let old = home.path().join(".podplane/cache/deps");
        let new = home.path().join(".cache/podplane/deps");
        let settings = || resolve(&Flags::default(), home.path(), &[], Platform::Linux);
        assert_eq!(settings().move_hint(), None, "no old cache, no hint");

        std::fs::create_dir_all(old.join("vmconfig")).unwrap();
        let hint = settings().move_hint().unwrap();
        let parent = home.path().join(".cache/podplane");
        assert!(
            hint.ends_with(&format!(
                "mkdir -p {} && mv {} {}",
                parent.display(),
                old.display(),
                new.display()
            )),
            "{hint}"
        );

        std::fs::create_dir_all(&new).unwrap();
        let hint = settings().move_hint().unwrap();
        assert!(
            hint.ends_with(&format!("rmdir {} && mv {} {}", new.display(), old.display(), new.display())),
            "{hint}"
        );

        std::fs::create_dir_all(new.join("vmconfig")).unwrap();
        assert_eq!(settings().move_hint(), None, "the new cache is in use");
    }

    #[test]
    fn an_old_cache_earns_no_hint_when_the_cache_is_chosen() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".podplane/cache/deps/vmconfig")).unwrap();
        let s = resolve(&Flags::default(), home.path(), &[("DEPS_CACHE_DIR", "/c")], Platform::Linux);
        assert_eq!(s.move_hint(), None);
        let s = resolve(&Flags::default(), home.path(), &[], Platform::Other);
        assert_eq!(s.move_hint(), None, "elsewhere the old default is the default");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word(Path::new("/home/me/.cache")), "/home/me/.cache");
        assert_eq!(shell_word(Path::new("/home/my dir")), "'/home/my dir'");
        assert_eq!(shell_word(Path::new("/it's")), r"'/it'\''s'");
    }

    proptest! {
        /// Whatever the variables hold, the first non-empty one in order wins, and nothing panics.
        #[test]
        fn the_first_non_empty_variable_wins(values in proptest::collection::vec("[a-z:/.]{0,3}", 3)) {
            let vars: Vec<(&'static str, &str)> =
                BASE_URL_VARS.iter().copied().zip(values.iter().map(String::as_str)).collect();
            let mut all = vec![("DEPS_CACHE_DIR", "/c")];
            all.extend(vars.iter().copied());
            let s = Settings::resolve(&Flags::default(), &env(&all), Platform::Linux).unwrap();
            match vars.iter().find(|(_, v)| !v.is_empty()) {
                Some((name, value)) => {
                    prop_assert_eq!(&s.base_url.value, value);
                    prop_assert_eq!(s.base_url.source, Source::Env(name));
                }
                None => prop_assert_eq!(s.base_url.source, Source::Default),
            }
        }

        /// Any config file text either parses or fails naming the file; never panics.
        #[test]
        fn any_config_text_parses_or_names_the_file(text in ".{0,40}") {
            if let Err(err) = ConfigFile::parse(Path::new("/p/config.json"), &text) {
                prop_assert!(err.to_string().contains("/p/config.json"));
            }
        }
    }
}
