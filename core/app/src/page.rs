//! What the JSON routes answer, as data: `call` decides the page, then one write sends
//! it (each write in an async handler is another copy of the send in device flash).

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
pub(super) enum Page<'x> {
    /// A fixed document (`/`, `/index`).
    Document(fn(&mut dyn fmt::Write) -> fmt::Result),
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

impl Page<'_> {
    /// Takes the page by value: it then lives only in this future, not also in the
    /// caller's.
    pub(super) async fn send<W: Write>(
        self,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let (status, headers): (Status, &[Header<'_>]) = match &self {
            Page::Refused(rejection) => return rejection.send(response).await,
            Page::Unavailable { .. } => (Status::SERVICE_UNAVAILABLE, &[("Retry-After", "5")]),
            Page::History(_) => (Status::OK, &[NO_STORE]),
            _ => (Status::OK, &[]),
        };
        let page = &self;
        let render = |out: &mut dyn fmt::Write| page.render(out);
        response
            .send(status, JSON, headers, Body::Render(&render))
            .await
    }

    fn render(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            Page::Document(render) => render(out),
            Page::Verdict(verdict) => verdict.render_json(out),
            Page::Vibe(vibe) => vibe.render_json(out),
            Page::Unavailable { error, message } => {
                write_json_object(out, &[("error", error), ("message", message)])
            }
            Page::ProtectedResource(document) => document.render(out),
            Page::History(user) => DeployHistory { user }.render(out),
            // Answered by the rejection itself.
            Page::Refused(_) => Ok(()),
            #[cfg(feature = "openapi")]
            Page::OpenApi(params) => openapi::render(params, out),
            #[cfg(feature = "as-mirror")]
            Page::Mirror(metadata) => metadata.document().render(out),
        }
    }
}
