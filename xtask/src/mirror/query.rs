//! URL query strings (`a=1&scope=x&scope=y`): split into decoded pairs in
//! order, keeping repeated keys. `+` is a space; a pair with a malformed
//! escape is dropped rather than guessed at.

use super::reqpath::percent_decode;

/// The decoded `(key, value)` pairs of `query`, in order.
pub(super) fn params(query: Option<&str>) -> Vec<(String, String)> {
    let Some(query) = query else { return Vec::new() };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(key)?, decode(value)?))
        })
        .collect()
}

/// Every value of `key` in `params`.
pub(super) fn values<'a>(params: &'a [(String, String)], key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    params.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// One decoded component.
fn decode(text: &str) -> Option<String> {
    String::from_utf8(percent_decode(&text.replace('+', " "))?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_in_order_with_repeats() {
        let p = params(Some("service=deps&scope=repository%3Aa%2Fb%3Apull&scope=x+y&flag&bad=%zz"));
        assert_eq!(
            p,
            [
                ("service".to_owned(), "deps".to_owned()),
                ("scope".to_owned(), "repository:a/b:pull".to_owned()),
                ("scope".to_owned(), "x y".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(values(&p, "scope").collect::<Vec<_>>(), ["repository:a/b:pull", "x y"]);
        assert!(params(None).is_empty());
    }
}
