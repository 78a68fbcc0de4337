//! RFC 7662 token introspection over the `net::Connect` seam: a `TokenValidator`
//! that asks the provider about each token it is given.

use core::fmt;

use embassy_sync::blocking_mutex::raw::RawMutex;

use super::buffers::ProviderBuffers;
use super::config::{ClientCredentials, OAuthConfig};
use super::provider_calls::{
    status_error, transport_error, uses_basic, write_basic_authorization, write_post_credentials,
};
use super::token::{TokenInfo, TokenValidator, ValidationError, parse_introspection};
use crate::http::client::{FormRenderer, Outgoing, Unwritable, transmit, write_request};
use crate::http::codec::FormEncoded;
use crate::http::failure::ExchangeFailure;
use crate::http::net::{Connect, Endpoint};

/// Asks the provider's introspection endpoint. Each call borrows one of `buffers` for
/// the request (head and the percent-encoded token) and the provider's answer.
#[derive(Debug)]
pub struct Introspector<'a, 'p, M: RawMutex, C> {
    connect: &'a C,
    url: &'a str,
    client: ClientCredentials<'a>,
    max_token_len: usize,
    buffers: &'a ProviderBuffers<'p, M>,
}

impl<'a, 'p, M: RawMutex, C: Connect> Introspector<'a, 'p, M, C> {
    /// `url` is the introspection endpoint (configured or discovered).
    pub fn new(
        connect: &'a C,
        url: &'a str,
        config: &OAuthConfig<'a>,
        buffers: &'a ProviderBuffers<'p, M>,
    ) -> Self {
        Introspector {
            connect,
            url,
            client: config.client,
            max_token_len: config.max_token_len,
            buffers,
        }
    }

    /// The connector it reaches the provider through.
    pub fn connector(&self) -> &'a C {
        self.connect
    }
}

impl<M: RawMutex, C: Connect> TokenValidator for Introspector<'_, '_, M, C> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        if token.is_empty() || token.len() > self.max_token_len {
            return Err(ValidationError::Malformed);
        }
        let endpoint = Endpoint::parse(self.url).ok_or(ValidationError::Misconfigured)?;
        let mut buffer = self
            .buffers
            .borrow()
            .await
            .ok_or(ValidationError::Misconfigured)?;
        // Written before connecting: a token too big for the request is refused without
        // I/O. The credentials are needed only while writing, so they stay out of the future.
        let written = {
            let client = &self.client;
            let basic = |out: &mut dyn push_advisor_http::codec::TextSink| {
                write_basic_authorization(out, client)
            };
            let authorization: Option<FormRenderer<'_>> = uses_basic(client)?.then_some(&basic);
            let form = |out: &mut dyn push_advisor_http::codec::TextSink| -> fmt::Result {
                out.write_str("token=")?;
                FormEncoded(token.as_bytes()).write_to(out)?;
                out.write_str("&token_type_hint=access_token")?;
                write_post_credentials(out, client)
            };
            let request = Outgoing {
                method: "POST",
                endpoint: &endpoint,
                headers: &[],
                authorization,
                form: Some(&form),
                keep_alive: true,
            };
            match write_request(&request, &mut buffer) {
                Ok(written) => written,
                Err(Unwritable::TooLarge) => return Err(ValidationError::Malformed),
                Err(Unwritable::Invalid) => return Err(ValidationError::Misconfigured),
            }
        };
        let mut conn = self
            .connect
            .connect(&endpoint)
            .await
            .map_err(|_| ValidationError::Unreachable)?;
        let response = match transmit(&mut conn, written, &mut buffer).await {
            Ok(response) => response,
            Err(error) => {
                if let Some(failure) = ExchangeFailure::of_client_error(&error) {
                    self.connect.exchange_failed(failure);
                }
                return Err(transport_error(error));
            }
        };
        if response.status != 200 {
            self.connect
                .exchange_failed(ExchangeFailure::Status(response.status));
            return Err(status_error(response.status));
        }
        let answer = parse_introspection(response.body, response.date);
        if answer == Err(ValidationError::BadAnswer) {
            self.connect.exchange_failed(ExchangeFailure::Malformed);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::config::ClientAuth;
    use crate::testing::{FakeConnector, Script, buffers};
    use base64::Engine as _;
    use embassy_futures::block_on;
    use std::vec;

    const URL: &str = "http://127.0.0.1:9000/token/introspection";
    const ACTIVE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nDate: Tue, 13 Aug 2024 15:30:00 GMT\r\nContent-Length: 201\r\n\r\n{\"active\":true,\"client_id\":\"push-advisor\",\"exp\":1723566600,\"iat\":1723563000,\"iss\":\"http://127.0.0.1:9000\",\"aud\":\"http://127.0.0.1:8787\",\"scope\":\"api:read api:write\",\"token_type\":\"Bearer\",\"sub\":\"alice\"}";
    const INACTIVE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"active\":false}";

    fn settings(auth: ClientAuth, secret: &'static str) -> OAuthConfig<'static> {
        let mut config = OAuthConfig::new(
            "http://127.0.0.1:8787",
            "",
            "http://127.0.0.1:9000",
            ClientCredentials {
                client_id: "push-advisor",
                client_secret: secret,
                auth,
            },
        );
        config.max_token_len = 4096;
        config
    }

    fn basic(plain: &str) -> std::string::String {
        let mut out = [0u8; 256];
        let length = base64::engine::general_purpose::STANDARD
            .encode_slice(plain, &mut out)
            .unwrap();
        std::string::String::from_utf8(out[..length].to_vec()).unwrap()
    }

    fn expected_request(auth_line: &str, form: &str) -> std::string::String {
        std::format!(
            "POST /token/introspection HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nAccept: application/json\r\n{auth_line}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        )
    }

    #[test]
    fn replays_an_active_answer_and_sends_an_encoded_request() {
        let connector = FakeConnector::replying(&[ACTIVE]);
        let config = settings(ClientAuth::ClientSecretBasic, "s3cret");
        let introspector = Introspector::new(&connector, URL, &config, buffers());
        let info = block_on(introspector.validate("a&b=c+d%25")).unwrap();
        assert_eq!(info.subject(), Some("alice"));
        assert_eq!(info.answered_at, Some(1_723_563_000));
        assert_eq!(
            connector.sent_text(0),
            expected_request(
                &std::format!("Authorization: Basic {}\r\n", basic("push-advisor:s3cret")),
                "token=a%26b%3Dc%2Bd%2525&token_type_hint=access_token"
            )
        );
    }

    #[test]
    fn crlf_in_a_token_cannot_split_the_request() {
        let connector = FakeConnector::replying(&[INACTIVE]);
        let config = settings(ClientAuth::ClientSecretBasic, "s3cret");
        let introspector = Introspector::new(&connector, URL, &config, buffers());
        let result = block_on(introspector.validate("x\r\nHost: evil\r\n\r\nGET / HTTP/1.1"));
        assert_eq!(result, Err(ValidationError::Inactive));
        let sent = connector.sent_text(0);
        assert!(sent.ends_with(
            "\r\n\r\ntoken=x%0D%0AHost%3A+evil%0D%0A%0D%0AGET+%2F+HTTP%2F1.1&token_type_hint=access_token"
        ));
        assert_eq!(sent.matches("\r\n\r\n").count(), 1);
    }

    #[test]
    fn client_credentials_are_form_encoded_before_base64_or_posted() {
        let connector = FakeConnector::replying(&[INACTIVE]);
        let config = settings(ClientAuth::ClientSecretBasic, "p@ss:w rd%");
        let introspector = Introspector::new(&connector, URL, &config, buffers());
        let _ = block_on(introspector.validate("t"));
        assert!(connector.sent_text(0).contains(&std::format!(
            "Authorization: Basic {}\r\n",
            basic("push-advisor:p%40ss%3Aw+rd%25")
        )));

        let connector = FakeConnector::replying(&[INACTIVE]);
        let config = settings(ClientAuth::ClientSecretPost, "p@ss:w rd%");
        let introspector = Introspector::new(&connector, URL, &config, buffers());
        let _ = block_on(introspector.validate("t"));
        assert_eq!(
            connector.sent_text(0),
            expected_request(
                "",
                "token=t&token_type_hint=access_token&client_id=push-advisor&client_secret=p%40ss%3Aw+rd%25"
            )
        );
    }

    #[test]
    fn oversize_tokens_are_refused_before_any_io() {
        let connector = FakeConnector::replying(&[ACTIVE]);
        let config = settings(ClientAuth::ClientSecretBasic, "s3cret");
        let introspector = Introspector::new(&connector, URL, &config, buffers());
        let huge = "A".repeat(8 * 1024);
        assert_eq!(
            block_on(introspector.validate(&huge)),
            Err(ValidationError::Malformed)
        );
        // Within max_token_len but too big once encoded for the request buffer.
        let wide = "%".repeat(2000);
        assert_eq!(
            block_on(introspector.validate(&wide)),
            Err(ValidationError::Malformed)
        );
        assert_eq!(
            block_on(introspector.validate("")),
            Err(ValidationError::Malformed)
        );
        assert_eq!(connector.connects.get(), 0);
    }

    #[test]
    fn chunked_answers_are_read() {
        let connector = FakeConnector::replying(&[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"active",
            b"\"\r\n",
            b"1b\r\n:true,\"aud\":[\"a\"],\"sub\":\"b\"\r\n1\r\n}\r\n0\r\n\r\n",
        ]);
        let config = settings(ClientAuth::ClientSecretBasic, "s3cret");
        let introspector = Introspector::new(&connector, URL, &config, buffers());
        let info = block_on(introspector.validate("t")).unwrap();
        assert_eq!(info.subject(), Some("b"));
        assert!(info.audiences.contains("a"));
    }

    #[test]
    fn provider_failures_are_typed() {
        let cases: [(Script, ValidationError); 6] = [
            (
                Script::Replies(vec![b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec()]),
                ValidationError::Unreachable,
            ),
            (
                Script::Replies(vec![b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 25\r\n\r\n{\"error\":\"invalid_client\"}".to_vec()]),
                ValidationError::BadAnswer,
            ),
            (
                Script::Replies(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n<html>".to_vec()]),
                ValidationError::BadAnswer,
            ),
            (Script::Replies(vec![b"\x00\x01garbage\r\n\r\n".to_vec()]), ValidationError::BadAnswer),
            (Script::Refused, ValidationError::Unreachable),
            (Script::FailReads(embedded_io::ErrorKind::TimedOut), ValidationError::Timeout),
        ];
        let reported = [
            Some(ExchangeFailure::Status(500)),
            Some(ExchangeFailure::Status(401)),
            Some(ExchangeFailure::Malformed),
            Some(ExchangeFailure::Malformed),
            None, // a failed connect is the connector's to log
            Some(ExchangeFailure::Timeout),
        ];
        for ((script, expected), reported) in cases.into_iter().zip(reported) {
            let connector = FakeConnector::new(vec![script]);
            let settings = settings(ClientAuth::ClientSecretBasic, "s3cret");
            let introspector = Introspector::new(&connector, URL, &settings, buffers());
            assert_eq!(block_on(introspector.validate("t")), Err(expected));
            assert_eq!(connector.failures.borrow().first().copied(), reported);
        }
    }

    #[test]
    fn a_bad_endpoint_is_misconfiguration() {
        let connector = FakeConnector::replying(&[ACTIVE]);
        let config = settings(ClientAuth::ClientSecretBasic, "s3cret");
        let introspector = Introspector::new(&connector, "ftp://x/", &config, buffers());
        assert_eq!(
            block_on(introspector.validate("t")),
            Err(ValidationError::Misconfigured)
        );
    }
}
