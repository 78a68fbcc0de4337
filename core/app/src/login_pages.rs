//! The HTML pages of the manual login flow: `/login`, the `/token` success page and
//! the error page. Every string that came from outside is HTML-escaped where it lands.

use core::fmt::{self, Write};

use crate::http::codec::HtmlEscaped;

/// The pages' one style sheet, inline; `CONTENT_SECURITY_POLICY` names its hash.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330}\
.card{border:1px solid #d0d5dd;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}\
.btn{display:inline-block;background:#2457d6;color:#fff;padding:.6rem 1rem;border-radius:6px;text-decoration:none;border:0;cursor:pointer;font-size:1rem}\
.warn{background:#fff4e5;border-color:#f0a040}code,pre{background:#f3f4f6;padding:.2rem .35rem;border-radius:4px;word-break:break-all;white-space:pre-wrap}";

/// The pages' one script, inline (no inline event handlers, which a policy cannot
/// hash): the token page's copy button and the demo-token form.
pub const SCRIPT: &str = "var c=document.getElementById('copy'),f=document.getElementById('demo-form');\
if(c)c.onclick=function(){navigator.clipboard.writeText(document.getElementById('access-token').textContent);c.textContent='Copied!'};\
if(f)f.onsubmit=function(e){e.preventDefault();document.getElementById('demo-token').textContent='demo_token_'+encodeURIComponent(f.user.value)}";

/// `Content-Security-Policy` of every page: nothing but the hashed style and script,
/// no plugins, no base or form targets, never framed. A test recomputes the hashes.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'sha256-9hQ1D3H7mAOtJnkNRIpI3iw4Grc+4MYuOGg6nEjzrnU='; script-src 'sha256-toEHAQmiyZo6lPigDDBn7tRhHAIIi8oT1ZrGSTpmhPI='; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn head(out: &mut dyn Write, title: &str) -> fmt::Result {
    write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        HtmlEscaped(title)
    )
}

/// Ends a page, with the script when the page has something for it to do.
fn end(out: &mut dyn Write, script: bool) -> fmt::Result {
    if script {
        write!(out, "<script>{SCRIPT}</script>")?;
    }
    out.write_str("</body></html>")
}

/// What the login page shows.
#[derive(Debug, Clone, Copy)]
pub struct LoginPage<'a> {
    pub public_url: &'a str,
    /// The full authorization URL (with state and PKCE), or `None` while the provider is unknown.
    pub authorize_url: Option<&'a str>,
    pub demo_tokens: bool,
}

impl LoginPage<'_> {
    pub fn render(&self, out: &mut dyn Write) -> fmt::Result {
        head(out, "Push Advisor API - Login")?;
        out.write_str("<h1>🔐 Push Advisor API - Login</h1><div class=\"card\"><h3>🚀 OAuth Authorization</h3>")?;
        match self.authorize_url {
            Some(url) => write!(
                out,
                "<p>Sign in at the OAuth provider to get an access token for this API.</p><a id=\"oauth-login\" class=\"btn\" href=\"{}\">Login with OAuth Provider</a>",
                HtmlEscaped(url)
            )?,
            None => out.write_str("<p><strong>The OAuth provider is not reachable yet.</strong> Reload this page in a few seconds.</p>")?,
        }
        out.write_str("</div>")?;
        if self.demo_tokens {
            out.write_str(
                "<div class=\"card warn\"><h3>⚠️ Demo tokens are enabled</h3><p><strong>Warning:</strong> this server accepts \
<code>demo_token_&lt;name&gt;</code> as a bearer token with every scope, without asking the provider. \
Never enable this in production.</p><form id=\"demo-form\">\
<input name=\"user\" placeholder=\"Username\" required pattern=\"[A-Za-z0-9_-]+\"> <button class=\"btn\" type=\"submit\">Generate Demo Token</button></form>\
<p><code id=\"demo-token\"></code></p></div>",
            )?;
        }
        write!(
            out,
            "<div class=\"card\"><h3>📋 How to Use</h3><p>Copy your token and use it in API requests:</p><pre>curl -H \"Authorization: Bearer YOUR_TOKEN\" {}/deploy-history</pre></div>",
            HtmlEscaped(self.public_url)
        )?;
        end(out, self.demo_tokens)
    }
}

/// What the provider's token endpoint answered.
#[derive(Debug, Clone, Copy)]
pub struct TokenPage<'a> {
    pub public_url: &'a str,
    pub access_token: &'a str,
    pub token_type: &'a str,
    pub expires_in: Option<u64>,
    pub scope: &'a str,
}

impl TokenPage<'_> {
    pub fn render(&self, out: &mut dyn Write) -> fmt::Result {
        head(out, "Push Advisor API - OAuth Success")?;
        write!(
            out,
            "<h1>✅ OAuth Success!</h1><div class=\"card\"><h3>Access token</h3><pre><code id=\"access-token\">{}</code></pre>\
<button id=\"copy\" class=\"btn\" type=\"button\">Copy token</button>\
<p>Type: <strong id=\"token-type\">{}</strong> · Expires in: <strong id=\"expires-in\">",
            HtmlEscaped(self.access_token),
            HtmlEscaped(self.token_type)
        )?;
        match self.expires_in {
            Some(seconds) => write!(out, "{seconds} seconds")?,
            None => out.write_str("unknown")?,
        }
        write!(
            out,
            "</strong> · Scope: <strong id=\"scope\">{}</strong></p></div><div class=\"card\"><h3>Try it</h3><pre id=\"curl\">curl -H \"Authorization: Bearer {}\" {}/deploy-history</pre></div>\
<p><a href=\"/login\">Back to login</a></p>",
            HtmlEscaped(self.scope),
            HtmlEscaped(self.access_token),
            HtmlEscaped(self.public_url)
        )?;
        end(out, true)
    }
}

/// A login that did not work out, with a message for the person.
#[derive(Debug, Clone, Copy)]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    /// The provider's own error code and description, if it sent one.
    pub detail: Option<&'a str>,
}

impl ErrorPage<'_> {
    pub fn render(&self, out: &mut dyn Write) -> fmt::Result {
        head(out, "Push Advisor API - Login failed")?;
        write!(
            out,
            "<h1>❌ {}</h1><div class=\"card warn\"><p id=\"error-message\">{}</p>",
            HtmlEscaped(self.title),
            HtmlEscaped(self.message)
        )?;
        if let Some(detail) = self.detail {
            write!(
                out,
                "<p>Provider said: <code id=\"provider-error\">{}</code></p>",
                HtmlEscaped(detail)
            )?;
        }
        out.write_str("</div><p><a class=\"btn\" href=\"/login\">Start again</a></p>")?;
        end(out, false)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::{CONTENT_SECURITY_POLICY, SCRIPT, STYLE};

    /// Fails when the style or script changes without the policy's hash: then put the
    /// hash this test prints into `CONTENT_SECURITY_POLICY`.
    #[test]
    fn the_policy_names_the_hash_of_the_inline_style_and_script() {
        for (directive, text) in [("style-src", STYLE), ("script-src", SCRIPT)] {
            let mut hash = [0u8; 44];
            let length = base64::engine::general_purpose::STANDARD
                .encode_slice(Sha256::digest(text.as_bytes()), &mut hash)
                .unwrap();
            let hash = core::str::from_utf8(&hash[..length]).unwrap();
            let mut expected = heapless::String::<80>::new();
            core::fmt::Write::write_fmt(&mut expected, format_args!("{directive} 'sha256-{hash}'"))
                .unwrap();
            assert!(
                CONTENT_SECURITY_POLICY.contains(expected.as_str()),
                "put {expected} into CONTENT_SECURITY_POLICY"
            );
        }
    }
}
