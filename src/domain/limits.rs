//! Abuse limits and client addresses: the limits per action, fixed windows,
//! and which address a request really comes from behind trusted proxies.

use std::net::IpAddr;

/// An action that is limited per account and per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitedAction {
    /// Signing in with a password (also the code check of passwordless sign-in).
    SignIn,
    /// Sending an emailed sign-in code.
    SendCode,
    /// Creating an account.
    SignUp,
    /// Asking for a password-reset link.
    PasswordReset,
}

impl LimitedAction {
    /// Every action, in the order of the settings string.
    pub const ALL: [LimitedAction; 4] = [
        LimitedAction::SignIn,
        LimitedAction::SendCode,
        LimitedAction::SignUp,
        LimitedAction::PasswordReset,
    ];

    /// The name in settings and in counter buckets.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitedAction::SignIn => "sign_in",
            LimitedAction::SendCode => "send_code",
            LimitedAction::SignUp => "sign_up",
            LimitedAction::PasswordReset => "password_reset",
        }
    }
}

/// How many attempts one action allows per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Limit {
    /// Per account (counted by email address); `None`: unlimited.
    pub per_account: Option<u32>,
    /// Per client address; `None`: unlimited.
    pub per_ip: Option<u32>,
}

/// The limits of every action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    limits: [(LimitedAction, Limit); 4],
}

impl Limits {
    /// Parses `sign_in=10/100,send_code=5/30,…`: per action,
    /// `per_account/per_ip`, each a positive number or `-` for no limit.
    /// Actions not named are unlimited.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut limits = LimitedAction::ALL.map(|a| (a, Limit::default()));
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not action=per_account/per_ip"))?;
            let slot = limits
                .iter_mut()
                .find(|(a, _)| a.as_str() == name.trim())
                .ok_or_else(|| {
                    format!(
                        "unknown action {:?} (known: sign_in, send_code, sign_up, password_reset)",
                        name.trim()
                    )
                })?;
            let (account, ip) = value
                .split_once('/')
                .ok_or_else(|| format!("{part:?} is not action=per_account/per_ip"))?;
            let number = |s: &str| -> Result<Option<u32>, String> {
                match s.trim() {
                    "-" => Ok(None),
                    n => match n.parse::<u32>() {
                        Ok(v) if v > 0 => Ok(Some(v)),
                        _ => Err(format!("{n:?} in {part:?} is not a positive number or -")),
                    },
                }
            };
            slot.1 = Limit {
                per_account: number(account)?,
                per_ip: number(ip)?,
            };
        }
        Ok(Self { limits })
    }

    /// The limit of one action.
    pub fn of(&self, action: LimitedAction) -> Limit {
        self.limits
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, l)| *l)
            .unwrap_or_default()
    }
}

/// The start of the fixed window that `now_ms` falls in.
pub fn window_start(now_ms: i64, window_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(window_ms.max(1))
}

/// Whole seconds until a window that started at `start` ends (at least 1),
/// for `Retry-After`.
pub fn retry_after_secs(start: i64, window_ms: i64, now_ms: i64) -> u64 {
    let left = (start + window_ms - now_ms).max(0);
    (((left + 999) / 1000).max(1)) as u64
}

/// A trusted proxy: one address, or a network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, normalize(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as IPv4.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Parses the trusted proxies: comma-separated addresses or CIDRs.
pub fn parse_proxies(spec: &str) -> Result<Vec<Network>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (addr, prefix) = match p.split_once('/') {
                Some((a, n)) => (a, Some(n)),
                None => (p, None),
            };
            let addr: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| format!("{p:?} is not an IP address or CIDR"))?;
            let addr = normalize(addr);
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(n) => n
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| format!("{p:?} has an invalid prefix length"))?,
            };
            Ok(Network { addr, prefix })
        })
        .collect()
}

/// The client's address: the socket peer, unless that peer is a trusted
/// proxy, in which case `X-Forwarded-For` is read from the right and the
/// first address that is not itself a trusted proxy is the client. Anything
/// a client wrote further left is ignored, so it cannot choose its address.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[Network]) -> IpAddr {
    let peer = normalize(peer);
    if !trusted.iter().any(|n| n.contains(peer)) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .map(normalize)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !trusted.iter().any(|n| n.contains(hop)) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_per_account_and_per_ip_and_refuse_nonsense() {
        let l = Limits::parse("sign_in=3/10, send_code=-/5").unwrap();
        assert_eq!(
            l.of(LimitedAction::SignIn),
            Limit {
                per_account: Some(3),
                per_ip: Some(10)
            }
        );
        assert_eq!(l.of(LimitedAction::SendCode).per_account, None);
        assert_eq!(l.of(LimitedAction::SignUp), Limit::default());
        assert!(Limits::parse("sign_in=0/1").is_err());
        assert!(Limits::parse("log_in=1/1").unwrap_err().contains("log_in"));
        assert!(Limits::parse("sign_in=5").is_err());
    }

    #[test]
    fn windows_are_fixed_and_retry_after_counts_to_their_end() {
        assert_eq!(window_start(1_000_500, 1_000), 1_000_000);
        assert_eq!(retry_after_secs(1_000_000, 60_000, 1_000_500), 60);
        assert_eq!(retry_after_secs(1_000_000, 60_000, 1_060_000), 1);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = parse_proxies("10.0.0.0/8, ::1").unwrap();
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            client_ip(peer, &["1.2.3.4"], &trusted),
            peer,
            "an untrusted peer cannot claim another address"
        );
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &["6.6.6.6, 198.51.100.7, 10.0.0.2"], &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "the rightmost untrusted hop is the client; what it wrote to the left is ignored"
        );
        assert_eq!(client_ip(proxy, &[], &trusted), proxy);
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(mapped, &["198.51.100.7"], &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert!(parse_proxies("10.0.0.0/33").is_err());
        assert!(parse_proxies("proxy.local").is_err());
        assert!(parse_proxies("").unwrap().is_empty());
    }
}
