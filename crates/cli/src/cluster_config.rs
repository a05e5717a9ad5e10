//! `-f/--cluster-config`: reads the providers a cluster uses from its config
//! file (JSON with comments and trailing commas): every
//! `cluster.providers[].kind` and `cluster.domains[].provider.kind`.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// The provider kinds named by a cluster config file.
pub fn providers(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read cluster config {}", path.display()))?;
    let value: Value = json5::from_str(&text)
        .with_context(|| format!("cluster config {} is not valid JSON", path.display()))?;
    Ok(providers_of(&value))
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
    fn missing_sections_give_no_providers() {
        assert!(providers_of(&serde_json::json!({"cluster": {}})).is_empty());
    }
}
