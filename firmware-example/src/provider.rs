//! The authorization server this device trusts, fixed at build time:
//! `PA_PROVIDER_URL`, `PA_CLIENT_ID`, `PA_CLIENT_SECRET` and `PA_CA_DER_FILE`
//! (a DER certificate file). Nothing here is ever logged.

#[derive(Clone, Copy)]
pub struct ProviderSettings {
    /// Base URL of the provider (`http://` or `https://`), if configured.
    pub url: Option<&'static str>,
    pub client_id: Option<&'static str>,
    pub client_secret: Option<&'static str>,
    /// CA certificate (DER) that TLS connections to the provider must chain to; empty if none.
    pub ca_der: &'static [u8],
}

impl core::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.map(|_| "<redacted>"))
            .field("ca_der_len", &self.ca_der.len())
            .finish()
    }
}

pub const PROVIDER: ProviderSettings = ProviderSettings {
    url: option_env!("PA_PROVIDER_URL"),
    client_id: option_env!("PA_CLIENT_ID"),
    client_secret: option_env!("PA_CLIENT_SECRET"),
    ca_der: include_bytes!(concat!(env!("OUT_DIR"), "/provider-ca.der")),
};
