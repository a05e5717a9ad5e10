//! `.helmignore` rules, exactly as Helm 3 applies them (`pkg/ignore/rules.go`).
//!
//! Not gitignore: each line is one Go `filepath.Match` pattern. Blank lines
//! and `#` comments are skipped; `**` is an error. A leading `!` negates, a
//! trailing `/` matches directories only, and a pattern with a `/` is matched
//! against the whole relative path (a leading `/` is dropped), one without
//! against the base name. `*`, `?` and classes never match `/`.
//!
//! Rules are evaluated in order and the first match ignores the path. Helm's
//! negation is peculiar and kept as is: a path that does *not* match a `!`
//! rule is ignored at that point, one that matches it goes on to the next
//! rule. Helm adds one default rule after the file's: `templates/.?*`
//! (dotfiles directly in `templates/`). An ignored directory is skipped
//! whole.
//!
//! Patterns are translated to globset with `literal_separator`, with
//! `{`/`}` escaped (Go has no alternation). Inside a character class an
//! escaped `]`, `-`, `^` or `!` is rejected rather than guessed at.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use crate::{Error, Result};

/// Helm's default rule, added after the file's rules.
const DEFAULT_RULE: &str = "templates/.?*";

/// A parsed rule set.
#[derive(Debug, Clone, Default)]
pub struct HelmIgnore {
    rules: Vec<Rule>,
}

/// One pattern line.
#[derive(Debug, Clone)]
struct Rule {
    /// The line as written (trimmed).
    raw: String,
    /// `!pattern`.
    negate: bool,
    /// `pattern/`.
    must_dir: bool,
    /// Whether the pattern is matched against the base name only.
    base_only: bool,
    /// The compiled pattern.
    matcher: GlobMatcher,
}

impl HelmIgnore {
    /// Parses the text of the `.helmignore` file at `path` (without Helm's default rule).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let bad = |reason: String| Error::HelmIgnore {
                path: path.to_owned(),
                line: n + 1,
                pattern: line.trim().to_owned(),
                reason,
            };
            if let Some(rule) = Rule::parse(line).map_err(bad)? {
                rules.push(rule);
            }
        }
        Ok(Self { rules })
    }

    /// These rules followed by Helm's default `templates/.?*`.
    pub fn with_defaults(mut self) -> Self {
        if let Ok(Some(rule)) = Rule::parse(DEFAULT_RULE) {
            self.rules.push(rule);
        }
        self
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `path` (relative, `/`-separated) is ignored; `is_dir` says what it is.
    pub fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            if rule.negate {
                if (rule.must_dir && !is_dir) || !rule.matches(path) {
                    return true;
                }
                continue;
            }
            if rule.must_dir && !is_dir {
                continue;
            }
            if rule.matches(path) {
                tracing::trace!(path, rule = rule.raw, "ignored by .helmignore");
                return true;
            }
        }
        false
    }
}

impl Rule {
    /// Parses one line; `None` for blank lines and comments.
    fn parse(line: &str) -> Result<Option<Self>, String> {
        let raw = line.trim();
        if raw.is_empty() || raw.starts_with('#') {
            return Ok(None);
        }
        if raw.contains("**") {
            return Err("double-star (**) syntax is not supported".to_owned());
        }
        // Helm checks the whole line, `!` and slashes included, before taking it apart.
        translate(raw)?;
        let mut pattern = raw;
        let negate = pattern.starts_with('!');
        if negate {
            pattern = &pattern[1..];
        }
        let must_dir = pattern.ends_with('/');
        if must_dir {
            pattern = &pattern[..pattern.len() - 1];
        }
        let base_only = !pattern.contains('/');
        let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
        let glob = GlobBuilder::new(&translate(pattern)?)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Some(Self { raw: raw.to_owned(), negate, must_dir, base_only, matcher: glob.compile_matcher() }))
    }

    /// Whether the pattern matches `path` (or its base name for slash-free patterns).
    fn matches(&self, path: &str) -> bool {
        let subject = if self.base_only { path.rsplit('/').next().unwrap_or(path) } else { path };
        self.matcher.is_match(subject)
    }
}

/// Translates a Go `filepath.Match` pattern to globset syntax, rejecting what Go rejects.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => out.push(c),
            '\\' => {
                let escaped = chars.next().ok_or("pattern ends with a backslash")?;
                push_literal(&mut out, escaped);
            }
            '[' => {
                out.push('[');
                if chars.as_str().starts_with('^') {
                    chars.next();
                    out.push('!');
                }
                let mut members = 0;
                loop {
                    match chars.next() {
                        None => return Err("unclosed character class".to_owned()),
                        Some(']') if members > 0 => break,
                        Some(']') => return Err("empty character class".to_owned()),
                        Some('-') if members == 0 => return Err("character class starts with '-'".to_owned()),
                        Some('\\') => match chars.next() {
                            None => return Err("pattern ends with a backslash".to_owned()),
                            Some(e @ (']' | '-' | '^' | '!')) => {
                                return Err(format!("escaped {e:?} in a character class is not supported"));
                            }
                            Some(e) => out.push(e),
                        },
                        Some(ch) => out.push(ch),
                    }
                    members += 1;
                }
                out.push(']');
            }
            c => push_literal(&mut out, c),
        }
    }
    Ok(out)
}

/// Appends `c` so globset reads it literally.
fn push_literal(out: &mut String, c: char) {
    if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn rules(text: &str) -> HelmIgnore {
        HelmIgnore::parse(text, Path::new(".helmignore")).unwrap().with_defaults()
    }

    #[test]
    fn base_name_path_and_root_patterns() {
        let r = rules("# comment\n\n*.tmp\nsecret/\n/top.txt\ndocs/*.md\n  spaced.txt  \n");
        assert_eq!(r.len(), 6);
        assert!(r.ignores("a.tmp", false));
        assert!(r.ignores("templates/x.tmp", false), "base-name patterns match at any depth");
        assert!(r.ignores("secret", true));
        assert!(r.ignores("templates/secret", true));
        assert!(!r.ignores("secret", false), "dir/ matches directories only");
        assert!(r.ignores("top.txt", false));
        assert!(!r.ignores("sub/top.txt", false), "/x matches at the root only");
        assert!(r.ignores("docs/a.md", false));
        assert!(!r.ignores("docs/sub/a.md", false), "* does not cross /");
        assert!(r.ignores("spaced.txt", false));
        assert!(!r.ignores("values.yaml", false));
        assert!(!r.ignores(".", true));
        assert!(!r.ignores("", true));
    }

    #[test]
    fn default_rule_ignores_dotfiles_in_templates_only() {
        let r = rules("");
        assert!(r.ignores("templates/.hidden", false));
        assert!(!r.ignores("templates/.", false), ".?* needs a character after the dot");
        assert!(!r.ignores(".helmignore", false));
        assert!(!r.ignores("templates/sub/.hidden", false));
    }

    #[test]
    fn negation_follows_helm_not_gitignore() {
        // In Helm, a path that does not match a `!` rule is ignored by it.
        let r = rules("*.tmp\n!keep.tmp\n");
        assert!(r.ignores("a.tmp", false), "matched by the first rule");
        assert!(r.ignores("keep.tmp", false), "matched by *.tmp before the negation is reached");
        assert!(r.ignores("values.yaml", false), "does not match !keep.tmp");
        let r = rules("!*.yaml\n");
        assert!(!r.ignores("values.yaml", false));
        assert!(r.ignores("README.md", false));
        let r = rules("!templates/\n");
        assert!(r.ignores("values.yaml", false), "!dir/ ignores every file");
    }

    #[test]
    fn go_pattern_syntax() {
        let r = rules("[abc].txt\n[^x]y.txt\n{p,q}.txt\n\\*.md\nl?t.txt\n");
        assert!(r.ignores("b.txt", false));
        assert!(!r.ignores("d.txt", false));
        assert!(r.ignores("zy.txt", false));
        assert!(!r.ignores("xy.txt", false));
        assert!(r.ignores("{p,q}.txt", false), "no alternation in Go");
        assert!(!r.ignores("p.txt", false));
        assert!(r.ignores("*.md", false));
        assert!(!r.ignores("README.md", false));
        assert!(r.ignores("lot.txt", false));
        let r = rules("a[/]b\n");
        assert!(!r.ignores("a/b", false), "classes never match /");
    }

    #[test]
    fn bad_patterns_name_their_line() {
        for (text, line, want) in [
            ("ok\n**/x\n", 2, "double-star"),
            ("[abc\n", 1, "unclosed"),
            ("x\ny\nfoo\\\n", 3, "backslash"),
            ("[]x]\n", 1, "empty character class"),
            ("[-a]\n", 1, "starts with '-'"),
        ] {
            let err = HelmIgnore::parse(text, Path::new("chart/.helmignore")).unwrap_err();
            let Error::HelmIgnore { line: got, reason, .. } = &err else { panic!("{err}") };
            assert_eq!(*got, line, "{text:?}");
            assert!(reason.contains(want), "{text:?}: {reason}");
            assert!(err.to_string().starts_with(&format!("chart/.helmignore:{line}: ")), "{err}");
        }
    }

    proptest! {
        #[test]
        fn any_line_parses_or_is_refused_and_matching_never_panics(
            line in r"[!/*?\\\[\]^{}a.-]{0,8}|\PC{0,12}",
            path in "[a.*/]{0,8}",
            is_dir: bool,
        ) {
            if let Ok(rules) = HelmIgnore::parse(&line, Path::new(".helmignore")) {
                let _ = rules.with_defaults().ignores(&path, is_dir);
            }
        }

        #[test]
        fn literal_names_match_themselves(name in "[A-Za-z0-9_.{},-]{1,12}") {
            prop_assume!(name != "." && !name.starts_with(['#', '!']) && !name.contains("**"));
            let rules = HelmIgnore::parse(&name, Path::new(".helmignore")).unwrap();
            prop_assert!(rules.ignores(&name, false));
            let nested = format!("sub/{name}");
            prop_assert!(rules.ignores(&nested, false));
        }
    }
}
