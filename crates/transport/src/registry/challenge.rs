//! `WWW-Authenticate` challenges (RFC 7235) as registries send them:
//! `Bearer realm="...",service="...",scope="repository:a/b:pull"`, or
//! `Basic realm="..."`. Parameter values may be tokens or quoted strings
//! holding commas, spaces and backslash escapes; several challenges may share
//! one header. Parsing never fails: what cannot be understood is skipped.

/// A challenge we can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Get a token from `realm` and send it as `Bearer`.
    Bearer {
        /// The token endpoint URL.
        realm: String,
        /// The `service` to ask the token for.
        service: Option<String>,
        /// The scope(s) the registry wants, space-separated.
        scope: Option<String>,
    },
    /// Send the user's credentials as `Basic`.
    Basic,
}

/// The challenge to answer among those in `header`: Bearer before Basic.
pub(crate) fn pick(header: &str) -> Option<Challenge> {
    let all = parse(header);
    let bearer = all.iter().find(|c| matches!(c, Challenge::Bearer { .. })).cloned();
    bearer.or_else(|| all.into_iter().next())
}

/// Every answerable challenge in `header`, in order.
pub(crate) fn parse(header: &str) -> Vec<Challenge> {
    raw_challenges(header)
        .into_iter()
        .filter_map(|(scheme, params)| {
            let get = |name: &str| {
                params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
            };
            if scheme.eq_ignore_ascii_case("bearer") {
                let realm = get("realm").filter(|r| !r.is_empty())?;
                Some(Challenge::Bearer { realm, service: get("service"), scope: get("scope") })
            } else if scheme.eq_ignore_ascii_case("basic") {
                Some(Challenge::Basic)
            } else {
                None
            }
        })
        .collect()
}

/// A scheme and its `name=value` parameters.
type RawChallenge = (String, Vec<(String, String)>);

/// Splits `header` into schemes and their parameters.
fn raw_challenges(header: &str) -> Vec<RawChallenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut at = 0;
    let mut out: Vec<RawChallenge> = Vec::new();
    loop {
        while at < chars.len() && (chars[at].is_whitespace() || chars[at] == ',') {
            at += 1;
        }
        if at >= chars.len() {
            return out;
        }
        let start = at;
        while at < chars.len() && !is_delimiter(chars[at]) {
            at += 1;
        }
        let token: String = chars[start..at].iter().collect();
        let mut look = at;
        while look < chars.len() && chars[look].is_whitespace() {
            look += 1;
        }
        if look < chars.len() && chars[look] == '=' {
            at = look + 1;
            while at < chars.len() && chars[at].is_whitespace() {
                at += 1;
            }
            let value =
                if chars.get(at) == Some(&'"') { quoted(&chars, &mut at) } else { bare(&chars, &mut at) };
            if let Some((_, params)) = out.last_mut()
                && !token.is_empty()
            {
                params.push((token, value));
            }
        } else if token.is_empty() {
            at += 1; // A stray quote or `=`: skip it.
        } else {
            out.push((token, Vec::new()));
        }
    }
}

/// Whether `c` ends a token.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || c == ',' || c == '=' || c == '"'
}

/// A quoted string starting at `chars[*at] == '"'`; an unterminated one runs to the end.
fn quoted(chars: &[char], at: &mut usize) -> String {
    let mut value = String::new();
    *at += 1;
    while *at < chars.len() {
        let c = chars[*at];
        *at += 1;
        match c {
            '"' => break,
            '\\' if *at < chars.len() => {
                value.push(chars[*at]);
                *at += 1;
            }
            c => value.push(c),
        }
    }
    value
}

/// A token value (up to a comma or white space; `=` allowed, as in token68).
fn bare(chars: &[char], at: &mut usize) -> String {
    let start = *at;
    while *at < chars.len() && !(chars[*at].is_whitespace() || chars[*at] == ',') {
        *at += 1;
    }
    chars[start..*at].iter().collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.to_owned(),
            service: service.map(str::to_owned),
            scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn docker_hub_challenge_with_commas_inside_quotes() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#;
        assert_eq!(
            parse(h),
            [bearer(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:samalba/my-app:pull,push")
            )]
        );
    }

    #[test]
    fn case_spaces_tokens_and_escapes() {
        let h = r#"bearer  Realm = "https://a/t?x=1" , SERVICE=svc,scope="a \"b\" c\\d",error="insufficient_scope""#;
        assert_eq!(parse(h), [bearer("https://a/t?x=1", Some("svc"), Some(r#"a "b" c\d"#))]);
    }

    #[test]
    fn several_challenges_in_one_header_prefer_bearer() {
        let h = r#"Basic realm="Registry Realm", Bearer realm="https://a/token",service="s""#;
        assert_eq!(parse(h), [Challenge::Basic, bearer("https://a/token", Some("s"), None)]);
        assert_eq!(pick(h), Some(bearer("https://a/token", Some("s"), None)));
        assert_eq!(pick(r#"Basic realm="x""#), Some(Challenge::Basic));
    }

    #[test]
    fn unusable_challenges_are_skipped() {
        assert_eq!(parse(""), []);
        assert_eq!(parse("Bearer"), []);
        assert_eq!(parse(r#"Bearer service="s""#), []);
        assert_eq!(parse("Negotiate abc=="), []);
        assert_eq!(parse(r#"Bearer realm="unterminated"#), [bearer("unterminated", None, None)]);
        assert_eq!(parse(r#"="x", Bearer realm=r"#), [bearer("r", None, None)]);
    }

    fn quote(s: &str) -> String {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }

    proptest! {
        #[test]
        fn never_panics(header in ".{0,200}") {
            let _ = parse(&header);
        }

        #[test]
        fn quoted_values_round_trip(
            realm in "[ -~]{1,40}",
            service in "[ -~]{0,40}",
            scope in "[ -~]{0,60}",
            spaces in "[ ]{0,2}",
        ) {
            let header = format!(
                "Bearer realm={}{spaces},{spaces}service={},scope={}",
                quote(&realm), quote(&service), quote(&scope)
            );
            prop_assert_eq!(pick(&header), Some(bearer(&realm, Some(&service), Some(&scope))));
        }
    }
}
