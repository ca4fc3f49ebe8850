//! Whether a model server is there: `llm.provider = "auto"` asks it in the daemon, and
//! `mentor config show` the same way when no daemon runs.

use std::time::Duration;

/// Whether something listens at the URL's host and port.
pub async fn reachable(url: &str, within: Duration) -> bool {
    let Some((host, port)) = host_port(url) else {
        return false;
    };
    matches!(
        tokio::time::timeout(
            within,
            tokio::net::TcpStream::connect((host.as_str(), port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// The host and port of an `http(s)://` URL (the scheme's port when none is given).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((authority.to_string(), default)),
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn hosts_and_ports_come_out_of_urls() {
        let hp = |h: &str, p| Some((h.to_string(), p));
        assert_eq!(
            host_port("http://127.0.0.1:11434/v1"),
            hp("127.0.0.1", 11434)
        );
        assert_eq!(host_port("https://api.example/v1"), hp("api.example", 443));
        assert_eq!(host_port("http://[::1]:8080/v1"), hp("::1", 8080));
        assert_eq!(host_port("http://user:pw@host/v1"), hp("host", 80));
        assert_eq!(host_port("ftp://host/"), None);
        assert_eq!(host_port("nonsense"), None);
    }
}
