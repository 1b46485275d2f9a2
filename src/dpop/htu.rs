//! `htu` and the request's URI, normalised as far as RFC 9449 §4.3 asks before they are
//! compared: syntax-based (RFC 3986 §6.2.2) and scheme-based (§6.2.3) normalisation.
//!
//! What is done, and nothing more:
//! - the scheme and host are lowercased (§6.2.2.1);
//! - percent-encodings are uppercased, and those of unreserved characters decoded
//!   (§6.2.2.1, §6.2.2.2), in the host and path;
//! - `.` and `..` segments are removed from the path (§6.2.2.3);
//! - an empty port and the scheme's default port (80 for `http`, 443 for `https`) are dropped,
//!   a port's leading zeros too, and an empty path is `/` (§6.2.3).
//!
//! Only absolute `http` and `https` URIs without user information are compared. Hosts are
//! compared as written (no IDNA, no IP address canonicalisation), paths case-sensitively.

/// `uri` normalised for comparison; `None` when it is not an absolute `http(s)` URI with an
/// authority and no user information, query or fragment, or holds a character a URI cannot.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    // `?` and `#` are neither host nor path characters: a query or fragment fails below.
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IP literal, `[…]`, then perhaps `:port`.
        Some(literal) => {
            let (inside, after) = literal.split_once(']')?;
            let port = match after {
                "" => "",
                _ => after.strip_prefix(':')?,
            };
            (authority.get(..inside.len() + 2)?, port)
        }
        None => authority.rsplit_once(':').unwrap_or((authority, "")),
    };
    if host.is_empty() || host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let port: Option<u16> = match port {
        "" => None,
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse().ok()?),
        _ => return None,
    };
    let mut out = String::with_capacity(uri.len());
    out.push_str(&scheme);
    out.push_str("://");
    push_normalized(&mut out, host, true)?;
    if let Some(port) = port.filter(|port| *port != default_port) {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let mut normalized = String::with_capacity(path.len());
    push_normalized(&mut normalized, path, false)?;
    let path = remove_dot_segments(&normalized);
    out.push_str(if path.is_empty() { "/" } else { &path });
    Some(out)
}

/// The request's URI without its query and fragment, normalised as [`normalize`] does.
pub(crate) fn normalize_request(uri: &str) -> Option<String> {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    normalize(uri.get(..end)?)
}

/// Appends `part` (a host when `host`, else a path), with percent-encodings normalised and
/// a host lowercased; `None` when it holds a character a URI cannot there, or a broken
/// percent-encoding.
fn push_normalized(out: &mut String, part: &str, host: bool) -> Option<()> {
    let bytes = part.as_bytes();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if b == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if is_unreserved(value) {
                out.push(char::from(if host {
                    value.to_ascii_lowercase()
                } else {
                    value
                }));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            at += 3;
            continue;
        }
        let allowed = is_unreserved(b)
            || b"!$&'()*+,;=".contains(&b)
            || if host {
                b"[]:".contains(&b)
            } else {
                b":@/".contains(&b)
            };
        if !allowed {
            return None;
        }
        out.push(char::from(if host { b.to_ascii_lowercase() } else { b }));
        at += 1;
    }
    Some(())
}

/// RFC 3986 §2.3's unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// RFC 3986 §5.2.4: `.` and `..` segments removed from an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let mut input = path;
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // The first segment, with its leading `/`, up to the next `/`.
            let end = input
                .get(1..)
                .and_then(|rest| rest.find('/'))
                .map_or(input.len(), |at| at + 1);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_uris_normalise_alike() {
        let expected = "https://api.example.com/a/b~c/d%2F";
        for uri in [
            "https://api.example.com/a/b~c/d%2F",
            "HTTPS://API.Example.COM/a/b~c/d%2F",
            "https://api.example.com:443/a/b~c/d%2f",
            "https://api.example.com:0443/a/b%7Ec/d%2F",
            "https://api.example.com:/a/./b~c/d%2F",
            "https://api.example.com/a/x/../b%7ec/d%2F",
            "https://api.example.com/../a/b~c/./d%2F",
        ] {
            assert_eq!(normalize(uri).as_deref(), Some(expected), "{uri}");
        }
        assert_eq!(
            normalize("http://localhost:80").as_deref(),
            Some("http://localhost/")
        );
        assert_eq!(
            normalize("http://127.0.0.1:8080/api").as_deref(),
            Some("http://127.0.0.1:8080/api")
        );
        assert_eq!(
            normalize("https://[::1]:8443/x/..").as_deref(),
            Some("https://[::1]:8443/")
        );
        assert_eq!(
            normalize("https://[::1]/x").as_deref(),
            Some("https://[::1]/x")
        );
    }

    #[test]
    fn different_uris_stay_different() {
        let base = normalize("https://api.example.com/a").unwrap();
        for other in [
            "http://api.example.com/a",
            "https://api.example.com:8443/a",
            "https://api.example.com/A",
            "https://api.example.com/a/",
            "https://api.example.com/a%2Fb",
            "https://api.example.org/a",
        ] {
            assert_ne!(normalize(other).unwrap(), base, "{other}");
        }
    }

    #[test]
    fn queries_fragments_and_other_forms_are_not_compared() {
        for uri in [
            "https://api.example.com/a?x=1",
            "https://api.example.com/a#f",
            "https://api.example.com/a?",
            "ftp://api.example.com/a",
            "https:/api.example.com/a",
            "/a",
            "https://user@api.example.com/a",
            "https:///a",
            "https://api.example.com:99999/a",
            "https://api.example.com:8x/a",
            "https://api.example.com/a b",
            "https://api.example.com/é",
            "https://api.example.com/%zz",
            "https://api.example.com/%4",
            "https://[::1/a",
            "https://[::1]x/a",
            "",
        ] {
            assert_eq!(normalize(uri), None, "{uri}");
        }
    }

    #[test]
    fn the_request_uri_loses_its_query_and_fragment() {
        assert_eq!(
            normalize_request("https://api.example.com/a?x=1#f").as_deref(),
            Some("https://api.example.com/a")
        );
        assert_eq!(
            normalize_request("https://api.example.com#f").as_deref(),
            Some("https://api.example.com/")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// A normalised URI is its own normal form, so comparing two normal forms is
        /// comparing the URIs; and no input panics.
        #[test]
        fn normalising_twice_changes_nothing(
            uri in "(https?|HTTPS?|ftp)://[a-zA-Z0-9.%:@\\[\\]-]{0,12}(/[a-zA-Z0-9._~%:@!$&'()*+,;=?#-]{0,8}){0,5}"
        ) {
            if let Some(once) = normalize(&uri) {
                proptest::prop_assert_eq!(normalize(&once), Some(once.clone()));
                proptest::prop_assert_eq!(normalize_request(&uri), Some(once));
            }
        }
    }

    #[test]
    fn dot_segments_are_removed_as_rfc3986_shows() {
        // RFC 3986 §5.2.4's examples.
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/.."), "/");
        assert_eq!(remove_dot_segments("/a/.."), "/");
        assert_eq!(remove_dot_segments("/a/b/.."), "/a/");
        assert_eq!(remove_dot_segments(""), "");
    }
}
