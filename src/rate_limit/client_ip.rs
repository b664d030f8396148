//! Who a request comes from, as far as limits are concerned, and the login limit as an
//! extractor so a handler states it in its signature.

use std::{
    future::{Future, Ready, ready},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    pin::Pin,
};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{Limit, check};
use crate::{error::ApiError, state::AppState};

/// The client's address: the TCP peer, or, with `CANYU_TRUST_PROXY=true`, the address our
/// reverse proxy appended to `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// With a trusted proxy only the last `X-Forwarded-For` entry is believed: the proxy
    /// appends the address it saw, and anything before it was written by the client.
    /// An unreadable last entry falls back to the peer, never to an earlier entry.
    pub fn resolve<'a>(
        peer: Option<IpAddr>,
        forwarded_for: impl Iterator<Item = &'a str>,
        trust_proxy: bool,
    ) -> Self {
        let forwarded = trust_proxy
            .then(|| {
                forwarded_for
                    .flat_map(|h| h.split(','))
                    .last()
                    .and_then(parse_entry)
            })
            .flatten();
        let ip = forwarded
            .or(peer)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Self(ip.to_canonical())
    }

    /// The bucket key. An IPv6 client usually holds a whole /64, so that is what counts.
    pub fn bucket(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.settings.trust_proxy);
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        ready(Ok(Self::resolve(
            req.peer_addr().map(|a| a.ip()),
            forwarded,
            trust_proxy,
        )))
    }
}

/// A login attempt: taking this argument counts it against the client address's login
/// limit, before the body is read or WeChat or argon2 is asked anything.
#[derive(Debug)]
pub struct LoginRateLimit;

impl FromRequest for LoginRateLimit {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ip = ClientIp::from_request(req, payload).into_inner();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let ip = ip?;
            let state =
                state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))?;
            check(&state, Limit::Login, &ip.bucket()).await?;
            Ok(LoginRateLimit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_a_trusted_proxy_the_header_is_ignored() {
        let got = ClientIp::resolve(Some(ip("10.0.0.9")), ["1.2.3.4"].into_iter(), false);
        assert_eq!(got, ClientIp(ip("10.0.0.9")));
    }

    #[test]
    fn behind_a_proxy_the_last_entry_counts_not_what_the_client_wrote() {
        let got = ClientIp::resolve(
            Some(ip("10.0.0.9")),
            ["6.6.6.6, 7.7.7.7", "203.0.113.5"].into_iter(),
            true,
        );
        assert_eq!(got, ClientIp(ip("203.0.113.5")));
        let with_port = ClientIp::resolve(None, ["[2001:db8::1]:4711"].into_iter(), true);
        assert_eq!(with_port, ClientIp(ip("2001:db8::1")));
    }

    #[test]
    fn an_unreadable_or_missing_header_falls_back_to_the_peer() {
        let peer = Some(ip("10.0.0.9"));
        assert_eq!(
            ClientIp::resolve(peer, ["1.2.3.4, garbage"].into_iter(), true),
            ClientIp(ip("10.0.0.9"))
        );
        assert_eq!(
            ClientIp::resolve(peer, std::iter::empty(), true),
            ClientIp(ip("10.0.0.9"))
        );
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientIp::resolve(Some(ip("2001:db8:1:2:aaaa::1")), std::iter::empty(), false);
        let b = ClientIp::resolve(Some(ip("2001:db8:1:2:bbbb::2")), std::iter::empty(), false);
        assert_eq!(a.bucket(), b.bucket());
        assert_eq!(a.bucket(), "2001:db8:1:2::/64");
        let mapped = ClientIp::resolve(Some(ip("::ffff:192.0.2.7")), std::iter::empty(), false);
        assert_eq!(mapped.bucket(), "192.0.2.7");
    }
}
