//! `-f/--cluster-config`: reads the providers a cluster uses from its config
//! file (JSON with comments and trailing commas): every
//! `cluster.providers[].kind` and `cluster.domains[].provider.kind`.
//! The JSON5 parser recurses once per level of nesting with no limit of its
//! own, so a file nested deeper than [`MAX_DEPTH`] is refused before parsing
//! (a stack overflow would abort the process).

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use crate::settings::Error;

/// The deepest nesting of arrays and objects read; a real config needs about 5.
pub const MAX_DEPTH: usize = 64;

/// The provider kinds named by a cluster config file.
pub fn providers(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read cluster config {}", path.display()))?;
    if depth(&text) > MAX_DEPTH {
        return Err(Error::ClusterConfigTooDeep { path: path.to_owned(), limit: MAX_DEPTH }.into());
    }
    let value: Value = json5::from_str(&text)
        .with_context(|| format!("cluster config {} is not valid JSON", path.display()))?;
    Ok(providers_of(&value))
}

/// The deepest nesting of `[` and `{` in JSON5 text, outside strings and
/// comments (unbalanced text is the parser's to report).
fn depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            '"' | '\'' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        s if s == c => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for s in chars.by_ref() {
                    if s == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                for s in chars.by_ref() {
                    if star && s == '/' {
                        break;
                    }
                    star = s == '*';
                }
            }
            _ => {}
        }
    }
    deepest
}

fn providers_of(config: &Value) -> Vec<String> {
    let cluster = &config["cluster"];
    let direct = cluster["providers"].as_array().into_iter().flatten().map(|p| &p["kind"]);
    let domains = cluster["domains"].as_array().into_iter().flatten().map(|d| &d["provider"]["kind"]);
    let mut out: Vec<String> = Vec::new();
    for kind in direct.chain(domains).filter_map(Value::as_str) {
        if !kind.is_empty() && !out.iter().any(|k| k == kind) {
            out.push(kind.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_providers_and_domain_providers_with_comments() {
        let text = r#"{
            // a comment
            "cluster": {
                "providers": [{"kind": "aws"}, {"kind": "google",},],
                "domains": [{"provider": {"kind": "cloudflare"}}, {"provider": {"kind": "aws"}}],
            },
        }"#;
        let value: Value = json5::from_str(text).unwrap();
        assert_eq!(providers_of(&value), ["aws", "google", "cloudflare"]);
    }

    #[test]
    fn depth_skips_strings_and_comments() {
        assert_eq!(depth(r#"{"a": [1, {"b": "[[[{"}]}"#), 3);
        assert_eq!(depth("{'a': '\\'[[' } // [[[[\n /* {{{{ */ [ ]"), 1);
        assert_eq!(depth("]]]] [ {"), 2);
        assert_eq!(depth(""), 0);
    }

    #[test]
    fn missing_sections_give_no_providers() {
        assert!(providers_of(&serde_json::json!({"cluster": {}})).is_empty());
    }
}
