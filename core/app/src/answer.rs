//! The JSON answers of the API routes, as data: `call` decides the answer, then one
//! write sends it (each write in an async handler is another copy of the send in device
//! flash). The HTML of the login flow is `login_pages`.

use core::fmt;

use embedded_io_async::Write;

use super::content::{PushVerdict, Vibe};
use super::history::DeployHistory;
#[cfg(feature = "openapi")]
use super::openapi::{self, OpenApiParams};
use super::tools::Principal;
use crate::http::codec::write_json_object;
use crate::http::response::{JSON, WriteError};
use crate::http::{Body, Header, Responder, Sent, Status};
#[cfg(feature = "as-mirror")]
use crate::oauth::MetadataView;
use crate::oauth::{ProtectedResourceDocument, Rejection};

pub(super) const NO_STORE: Header<'static> = ("Cache-Control", "no-store");

/// One JSON answer.
#[derive(Debug)]
pub(super) enum Answer<'x> {
    /// A fixed document (`/`, `/index`).
    Document(fn(&mut dyn push_advisor_http::codec::TextSink) -> fmt::Result),
    Verdict(PushVerdict),
    Vibe(Vibe),
    /// 503 with `Retry-After`: something the server does not have yet.
    Unavailable {
        error: &'static str,
        message: &'static str,
    },
    ProtectedResource(ProtectedResourceDocument<'x>),
    /// The deploy history, attributed to this principal.
    History(Principal),
    /// A refused token check, answered with its challenge.
    Refused(Rejection<'x>),
    #[cfg(feature = "openapi")]
    OpenApi(OpenApiParams<'x>),
    /// The provider's metadata as this server mirrors it.
    #[cfg(feature = "as-mirror")]
    Mirror(MetadataView<'x>),
}

impl Answer<'_> {
    /// Takes the answer by value: it then lives only in this future, not also in the
    /// caller's.
    pub(super) async fn send<W: Write>(
        self,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let (status, headers): (Status, &[Header<'_>]) = match &self {
            Answer::Refused(rejection) => return rejection.send(response).await,
            Answer::Unavailable { .. } => (Status::SERVICE_UNAVAILABLE, &[("Retry-After", "5")]),
            Answer::History(_) => (Status::OK, &[NO_STORE]),
            _ => (Status::OK, &[]),
        };
        let answer = &self;
        let render = |out: &mut dyn push_advisor_http::codec::TextSink| answer.render(out);
        response
            .send(status, JSON, headers, Body::Render(&render))
            .await
    }

    fn render(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        match self {
            Answer::Document(render) => render(out),
            Answer::Verdict(verdict) => verdict.render_json(out),
            Answer::Vibe(vibe) => vibe.render_json(out),
            Answer::Unavailable { error, message } => {
                write_json_object(out, &[("error", error), ("message", message)])
            }
            Answer::ProtectedResource(document) => document.render(out),
            Answer::History(user) => DeployHistory { user }.render(out),
            // Answered by the rejection itself.
            Answer::Refused(_) => Ok(()),
            #[cfg(feature = "openapi")]
            Answer::OpenApi(params) => {
                openapi::render(params, &mut push_advisor_http::codec::Formatted(out))
            }
            #[cfg(feature = "as-mirror")]
            Answer::Mirror(metadata) => metadata.document().render(out),
        }
    }
}
