//! The authorization server this device trusts, fixed at build time:
//! `PA_PROVIDER_URL`, `PA_CLIENT_ID`, `PA_CLIENT_SECRET`, `PA_PUBLIC_URL`,
//! `PA_CACHE_TTL` (seconds, default 60), `PA_PROVIDER_TIMEOUT_MS` (one provider
//! call in all, default the core's 5 s) and `PA_CA_DER_FILE` (the CA certificate, DER,
//! that an `https` provider must chain to; feature `tls`). The secret is never logged.

#[derive(Clone, Copy)]
pub struct ProviderSettings {
    /// Base URL of the provider (`http://` or `https://`), if configured.
    pub url: Option<&'static str>,
    pub client_id: Option<&'static str>,
    pub client_secret: Option<&'static str>,
    /// This device's canonical URL as clients reach it.
    pub public_url: Option<&'static str>,
    /// Longest time an introspection answer is trusted.
    pub cache_ttl_seconds: u64,
    /// How long one provider call may take in all; `None`: the core's default.
    pub provider_timeout_ms: Option<u64>,
    /// CA certificate (DER) that TLS connections to the provider must chain to; empty if none.
    pub ca_der: &'static [u8],
}

impl core::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.map(|_| "<redacted>"))
            .field("public_url", &self.public_url)
            .field("cache_ttl_seconds", &self.cache_ttl_seconds)
            .field("provider_timeout_ms", &self.provider_timeout_ms)
            .field("ca_der_len", &self.ca_der.len())
            .finish()
    }
}

pub const PROVIDER: ProviderSettings = ProviderSettings {
    url: option_env!("PA_PROVIDER_URL"),
    client_id: option_env!("PA_CLIENT_ID"),
    client_secret: option_env!("PA_CLIENT_SECRET"),
    public_url: option_env!("PA_PUBLIC_URL"),
    cache_ttl_seconds: match option_env!("PA_CACHE_TTL") {
        Some(text) => parse_decimal(text),
        None => 60,
    },
    provider_timeout_ms: match option_env!("PA_PROVIDER_TIMEOUT_MS") {
        Some(text) => Some(parse_decimal(text)),
        None => None,
    },
    ca_der: include_bytes!(concat!(env!("OUT_DIR"), "/provider-ca.der")),
};

/// The settings of a board that takes them all at build time. Evaluate it in a `const`
/// so that a missing one stops the build.
#[allow(
    dead_code,
    reason = "boards that read their settings at run time do not call it"
)]
pub const fn built_in() -> crate::board_parts::Settings {
    crate::board_parts::Settings {
        issuer: required(
            PROVIDER.url,
            "set PA_PROVIDER_URL (the OAuth issuer) at build time",
        ),
        client_id: required(PROVIDER.client_id, "set PA_CLIENT_ID at build time"),
        client_secret: required(PROVIDER.client_secret, "set PA_CLIENT_SECRET at build time"),
        public_url: required(
            PROVIDER.public_url,
            "set PA_PUBLIC_URL (how clients reach this board) at build time",
        ),
        cache_ttl_seconds: PROVIDER.cache_ttl_seconds,
        provider_timeout_ms: PROVIDER.provider_timeout_ms,
    }
}

/// The CA certificate (DER) of a board that takes it at build time; like `built_in`,
/// for a `const`.
#[cfg(feature = "tls")]
#[allow(
    dead_code,
    reason = "boards that read their CA at run time do not call it"
)]
pub const fn built_in_ca_der() -> &'static [u8] {
    assert!(
        !PROVIDER.ca_der.is_empty(),
        "feature `tls`: set PA_CA_DER_FILE (the provider's CA certificate, DER) at build time"
    );
    PROVIDER.ca_der
}

const fn required(value: Option<&'static str>, message: &'static str) -> &'static str {
    match value {
        Some(value) => value,
        None => panic!("{}", message),
    }
}

/// A decimal number from a build-time setting; anything else stops the build.
pub const fn parse_decimal(text: &str) -> u64 {
    let bytes = text.as_bytes();
    assert!(!bytes.is_empty(), "a build-time number is empty");
    let mut value = 0u64;
    let mut at = 0;
    while at < bytes.len() {
        let digit = bytes[at];
        assert!(digit.is_ascii_digit(), "a build-time number is not decimal");
        value = value * 10 + (digit - b'0') as u64;
        at += 1;
    }
    value
}
