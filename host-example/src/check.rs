//! `push-advisor check`: reads the same settings as the server and tells, one line per
//! fact, whether the provider is set up for it, with a fix for each problem. Exit status
//! 0 only when no line failed. The client secret is never printed.

use std::fmt;

use push_advisor_http::client::{FormRenderer, Outgoing, exchange};
use push_advisor_http::codec::FormEncoded;
use push_advisor_http::net::{Connect, Endpoint};
use push_advisor_oauth::provider_calls::{
    uses_basic, write_basic_authorization, write_post_credentials,
};
use push_advisor_oauth::{
    ALL_MEMBERS, ClientAuth, DiscoveryError, Member, OAuthConfig, ProviderMetadata, discover,
};
use push_advisor_tokio::Connector;
use serde_json::Value;

/// A dummy token no provider issued: introspecting it must answer `active: false`.
const DUMMY_TOKEN: &str = "push-advisor-check-not-a-real-token";

/// How one line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    Warn,
    Info,
}

/// The lines printed so far, and whether any failed.
#[derive(Debug, Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn line(&mut self, verdict: Verdict, what: impl fmt::Display, fix: Option<&str>) {
        let tag = match verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "WARN",
            Verdict::Info => "INFO",
        };
        if verdict == Verdict::Fail {
            self.failed += 1;
        }
        println!("{tag}  {what}");
        if let Some(fix) = fix {
            println!("      fix: {fix}");
        }
    }
}

/// A provider answer, copied out of the exchange buffer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The OAuth `error` (and description) of a refusal, for the operator.
    fn oauth_error(&self) -> String {
        let Some(json) = self.json() else {
            return String::new();
        };
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
        match (text("error"), text("error_description")) {
            (Some(error), Some(description)) => format!(" ({error}: {description})"),
            (Some(error), None) => format!(" ({error})"),
            _ => String::new(),
        }
    }
}

/// One request to the provider: `Err` says why no answer came.
async fn call(
    connector: &Connector,
    url: &str,
    authorization: Option<&str>,
    form: Option<FormRenderer<'_>>,
) -> Result<Answer, String> {
    let endpoint = Endpoint::parse(url).ok_or_else(|| format!("{url:?} is not an http(s) URL"))?;
    let mut connection = connector
        .connect(&endpoint)
        .await
        .map_err(|error| error.to_string())?;
    let header = authorization
        .map(|value| move |out: &mut dyn push_advisor_http::codec::TextSink| out.write_str(value));
    let request = Outgoing {
        method: if form.is_some() { "POST" } else { "GET" },
        endpoint: &endpoint,
        headers: &[("Accept", "application/json")],
        authorization: header.as_ref().map(|render| render as FormRenderer<'_>),
        form,
        keep_alive: false,
    };
    let mut buffer = vec![0u8; 64 * 1024];
    let response = exchange(&mut connection, &request, &mut buffer)
        .await
        .map_err(|error| format!("the exchange failed: {error:?}"))?;
    Ok(Answer {
        status: response.status,
        body: response.body.to_vec(),
    })
}

/// A form body with this server's client credentials (for `client_secret_post`).
fn form_with_credentials<'a>(
    config: &'a OAuthConfig<'a>,
    fields: &'a [(&'a str, &'a str)],
) -> impl Fn(&mut dyn push_advisor_http::codec::TextSink) -> fmt::Result + Sync + 'a {
    move |out: &mut dyn push_advisor_http::codec::TextSink| {
        for (at, (name, value)) in fields.iter().enumerate() {
            if at > 0 {
                out.write_char('&')?;
            }
            out.write_str(name)?;
            out.write_char('=')?;
            FormEncoded(value.as_bytes()).write_to(out)?;
        }
        write_post_credentials(out, &config.client)
    }
}

fn auth_name(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::ClientSecretBasic => "client_secret_basic",
        ClientAuth::ClientSecretPost => "client_secret_post",
    }
}

/// Runs every check against the provider `config` names; `true` when none failed.
pub async fn run(config: &OAuthConfig<'_>, connector: &Connector) -> bool {
    let mut report = Report::default();
    let fix_auth = "check PUSH_ADVISOR_CLIENT_ID, the secret (PUSH_ADVISOR_CLIENT_SECRET_FILE or PUSH_ADVISOR_CLIENT_SECRET) and PUSH_ADVISOR_CLIENT_AUTH against this client's registration at the provider (its token_endpoint_auth_method)";
    report.line(
        Verdict::Info,
        format_args!(
            "public URL {}: tokens must name it as their resource (audience); MCP clients find the provider at {}",
            config.resource, config.resource_metadata_url
        ),
        None,
    );

    // Discovery, as the server does it, keeping every member for the checks below.
    let mut rx = vec![0u8; 16 * 1024];
    let found: Result<ProviderMetadata<1024, ALL_MEMBERS>, _> =
        discover(connector, config, &mut rx).await;
    let mut metadata = match found {
        Ok(metadata) => {
            report.line(
                Verdict::Pass,
                format_args!(
                    "discovery: the provider's metadata names the issuer {} exactly",
                    config.issuer
                ),
                None,
            );
            metadata
        }
        Err(error) => {
            let (what, fix) = discovery_failure(config, connector, error).await;
            report.line(Verdict::Fail, what, Some(&fix));
            report.line(
                Verdict::Info,
                "introspection, audience, JWKS and registration were not checked: discovery comes first",
                None,
            );
            return false;
        }
    };
    if metadata.apply_overrides(&config.endpoints).is_err() {
        report.line(
            Verdict::Fail,
            "an endpoint override is not a usable URL",
            Some("fix PUSH_ADVISOR_INTROSPECTION_ENDPOINT, PUSH_ADVISOR_AUTHORIZATION_ENDPOINT or PUSH_ADVISOR_TOKEN_ENDPOINT, or unset them to use discovery"),
        );
    }
    let view = metadata.view();
    let authorization = match uses_basic(&config.client) {
        Ok(true) => {
            let mut value = String::new();
            let _ = write_basic_authorization(&mut value, &config.client);
            Some(value)
        }
        Ok(false) => None,
        Err(_) => {
            report.line(
                Verdict::Fail,
                "the client id and secret are too long to send",
                Some(fix_auth),
            );
            return false;
        }
    };
    let authorization = authorization.as_deref();

    // Introspection with our client authentication: a dummy token must be inactive.
    let mut introspection_ok = false;
    match view.introspection_endpoint() {
        None => report.line(
            Verdict::Fail,
            "the provider advertises no introspection_endpoint",
            Some("set PUSH_ADVISOR_INTROSPECTION_ENDPOINT to the provider's RFC 7662 endpoint"),
        ),
        Some(url) => {
            let fields = [("token", DUMMY_TOKEN), ("token_type_hint", "access_token")];
            let form = form_with_credentials(config, &fields);
            let who = format!(
                "as {} with {}",
                config.client.client_id,
                auth_name(config.client.auth)
            );
            match call(connector, url, authorization, Some(&form)).await {
                Err(why) => report.line(
                    Verdict::Fail,
                    format_args!("introspection at {url} is unreachable: {why}"),
                    Some("check that the provider is up and reachable from this host (and PUSH_ADVISOR_CA_FILE for a private CA)"),
                ),
                Ok(answer) if answer.status == 200 => {
                    match answer.json().and_then(|json| json.get("active").and_then(Value::as_bool)) {
                        Some(false) => {
                            introspection_ok = true;
                            report.line(
                                Verdict::Pass,
                                format_args!("introspection at {url} accepts our client authentication ({who}): a dummy token is active: false"),
                                None,
                            );
                        }
                        _ => report.line(
                            Verdict::Fail,
                            format_args!("introspection at {url} answered 200 without active: false for a dummy token"),
                            Some("point PUSH_ADVISOR_INTROSPECTION_ENDPOINT at an RFC 7662 endpoint"),
                        ),
                    }
                }
                Ok(answer) => report.line(
                    Verdict::Fail,
                    format_args!(
                        "introspection at {url} refused our client authentication ({who}): HTTP {}{}",
                        answer.status,
                        answer.oauth_error()
                    ),
                    Some(fix_auth),
                ),
            }
        }
    }

    // The audience tokens will carry: a client-credentials token for our resource,
    // introspected. Providers that do not let this client use the grant are told, not failed.
    match (view.token_endpoint(), view.introspection_endpoint()) {
        (Some(token_url), Some(introspection_url)) if introspection_ok => {
            check_audience(
                &mut report,
                config,
                connector,
                authorization,
                token_url,
                introspection_url,
            )
            .await;
        }
        (None, _) => report.line(
            Verdict::Fail,
            "the provider advertises no token_endpoint (needed by /login)",
            Some("set PUSH_ADVISOR_TOKEN_ENDPOINT"),
        ),
        _ => {}
    }

    // The JWKS: loaded and with usable keys. Tokens are introspected today, so this only informs.
    match view.jwks_uri() {
        None => report.line(
            Verdict::Info,
            "the provider advertises no jwks_uri (tokens are checked by introspection, so none is needed)",
            None,
        ),
        Some(url) => match call(connector, url, None, None).await {
            Ok(answer) if answer.status == 200 => {
                let keys = answer
                    .json()
                    .and_then(|json| json.get("keys").and_then(Value::as_array).cloned())
                    .unwrap_or_default();
                let usable = keys
                    .iter()
                    .filter(|key| {
                        key.get("kty").is_some()
                            && key.get("use").and_then(Value::as_str).is_none_or(|u| u == "sig")
                    })
                    .count();
                let verdict = if usable > 0 { Verdict::Pass } else { Verdict::Warn };
                report.line(
                    verdict,
                    format_args!("JWKS at {url}: {} key(s), {usable} usable for signatures (tokens are checked by introspection)", keys.len()),
                    (usable == 0).then_some("the provider publishes no signing key; JWT access tokens could not be checked locally"),
                );
            }
            Ok(answer) => report.line(
                Verdict::Warn,
                format_args!("JWKS at {url} answered HTTP {}", answer.status),
                Some("the provider's jwks_uri does not serve its keys; JWT access tokens could not be checked locally"),
            ),
            Err(why) => report.line(
                Verdict::Warn,
                format_args!("JWKS at {url} is unreachable: {why}"),
                None,
            ),
        },
    }

    // Whether MCP clients can register on their own.
    let dcr = view.url(Member::RegistrationEndpoint);
    let cimd = cimd_supported(config, connector).await;
    match (dcr, cimd) {
        (Some(url), _) => report.line(
            Verdict::Pass,
            format_args!("MCP clients can register: dynamic client registration at {url}"),
            None,
        ),
        (None, true) => report.line(
            Verdict::Pass,
            "MCP clients can register: the provider supports client ID metadata documents",
            None,
        ),
        (None, false) => report.line(
            Verdict::Warn,
            "MCP clients cannot register on their own (no registration_endpoint, no client ID metadata documents)",
            Some("enable dynamic client registration or client ID metadata documents at the provider, or pre-register each MCP client"),
        ),
    }

    let verdict = if report.failed == 0 {
        "all checks passed"
    } else {
        "some checks failed"
    };
    println!("{verdict}");
    report.failed == 0
}

async fn check_audience(
    report: &mut Report,
    config: &OAuthConfig<'_>,
    connector: &Connector,
    authorization: Option<&str>,
    token_url: &str,
    introspection_url: &str,
) {
    let fields = [
        ("grant_type", "client_credentials"),
        ("resource", config.resource),
    ];
    let form = form_with_credentials(config, &fields);
    let token = match call(connector, token_url, authorization, Some(&form)).await {
        Ok(answer) if answer.status == 200 => answer.json().and_then(|json| {
            json.get("access_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        Ok(answer) => {
            report.line(
                Verdict::Info,
                format_args!(
                    "audience not confirmed: this client may not get its own token for {} (HTTP {}{})",
                    config.resource,
                    answer.status,
                    answer.oauth_error()
                ),
                None,
            );
            return;
        }
        Err(why) => {
            report.line(
                Verdict::Fail,
                format_args!("the token endpoint {token_url} is unreachable: {why}"),
                Some("check PUSH_ADVISOR_TOKEN_ENDPOINT or the provider's token_endpoint"),
            );
            return;
        }
    };
    let Some(token) = token else {
        report.line(
            Verdict::Warn,
            "audience not confirmed: the token endpoint's answer has no access_token",
            None,
        );
        return;
    };
    let fields = [
        ("token", token.as_str()),
        ("token_type_hint", "access_token"),
    ];
    let form = form_with_credentials(config, &fields);
    let audience = match call(connector, introspection_url, authorization, Some(&form)).await {
        Ok(answer) if answer.status == 200 => {
            answer.json().and_then(|json| json.get("aud").cloned())
        }
        _ => None,
    };
    let names_us = match &audience {
        Some(Value::String(aud)) => aud == config.resource,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(config.resource)),
        _ => false,
    };
    let shown = audience.map_or_else(|| "none".to_owned(), |aud| aud.to_string());
    if names_us {
        report.line(
            Verdict::Pass,
            format_args!(
                "audience: a token asked for resource {} carries aud {shown}",
                config.resource
            ),
            None,
        );
    } else {
        report.line(
            Verdict::Fail,
            format_args!(
                "audience: a token asked for resource {} carries aud {shown}, so this server would refuse it",
                config.resource
            ),
            Some("make the provider put the resource indicator (RFC 8707) in aud, or set PUSH_ADVISOR_PUBLIC_URL to the audience it issues"),
        );
    }
}

/// Whether the RFC 8414 document says `client_id_metadata_document_supported: true`.
async fn cimd_supported(config: &OAuthConfig<'_>, connector: &Connector) -> bool {
    let Some(urls) = push_advisor_oauth::metadata::metadata_urls(config.issuer) else {
        return false;
    };
    for url in &urls {
        if let Ok(answer) = call(connector, url, None, None).await {
            if answer.status == 200 {
                return answer
                    .json()
                    .and_then(|json| {
                        json.get("client_id_metadata_document_supported")
                            .and_then(Value::as_bool)
                    })
                    .unwrap_or(false);
            }
        }
    }
    false
}

/// The line and fix for a failed discovery.
async fn discovery_failure(
    config: &OAuthConfig<'_>,
    connector: &Connector,
    error: DiscoveryError,
) -> (String, String) {
    let issuer = config.issuer;
    match error {
        DiscoveryError::Unavailable(_) => {
            let why = match Endpoint::parse(issuer) {
                Some(endpoint) => match connector.connect(&endpoint).await {
                    Err(error) => error.to_string(),
                    Ok(_) => "it did not answer".to_owned(),
                },
                None => "not a URL".to_owned(),
            };
            (
                format!("discovery: the provider at {issuer} is unreachable: {why}"),
                "check PUSH_ADVISOR_ISSUER's host and port, that the provider is up and reachable from this host, and PUSH_ADVISOR_CA_FILE for a private CA".to_owned(),
            )
        }
        DiscoveryError::IssuerMismatch => {
            let named = named_issuer(config, connector).await;
            (
                format!(
                    "discovery: the provider's metadata names the issuer {} but PUSH_ADVISOR_ISSUER is {issuer}",
                    named.as_deref().unwrap_or("(unreadable)")
                ),
                format!(
                    "set PUSH_ADVISOR_ISSUER to exactly {} (scheme, host, port and path must match; tokens and metadata are bound to it)",
                    named.as_deref().unwrap_or("the issuer the provider names")
                ),
            )
        }
        DiscoveryError::NotFound => (
            format!("discovery: no metadata at {base}/.well-known/oauth-authorization-server nor {base}/.well-known/openid-configuration", base = issuer.trim_end_matches('/')),
            "set PUSH_ADVISOR_ISSUER to the issuer identifier itself (not a metadata URL, not an endpoint); for a provider without discovery, set the endpoint overrides".to_owned(),
        ),
        DiscoveryError::BadDocument => (
            format!("discovery: the metadata at {issuer} could not be read (not JSON, or a value too long)"),
            "check that PUSH_ADVISOR_ISSUER points at the OAuth provider and not another service".to_owned(),
        ),
        DiscoveryError::Misconfigured => (
            format!("discovery: PUSH_ADVISOR_ISSUER {issuer:?} is not a usable http(s) URL"),
            "set PUSH_ADVISOR_ISSUER to the provider's issuer, e.g. https://id.example.com/realms/main".to_owned(),
        ),
    }
}

/// The issuer the provider's metadata names, for the operator.
async fn named_issuer(config: &OAuthConfig<'_>, connector: &Connector) -> Option<String> {
    let urls = push_advisor_oauth::metadata::metadata_urls(config.issuer)?;
    for url in &urls {
        if let Ok(answer) = call(connector, url, None, None).await {
            if answer.status == 200 {
                if let Some(issuer) = answer.json().and_then(|json| {
                    json.get("issuer")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }) {
                    return Some(issuer);
                }
            }
        }
    }
    None
}
