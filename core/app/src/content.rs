//! The Push Advisor's fixed content: the vibes, the push rule and the index documents
//! (their endpoint lists come from the route table).

use core::fmt;

use crate::http::codec::write_json_object;
use crate::http::time::Weekday;
use crate::routes::from_routes;

/// The ten vibes, drawn uniformly by `/vibe-check`.
pub const VIBES: [&str; 10] = [
    "The stars are aligned ✨",
    "Mercury is in retrograde, maybe not 🪐",
    "The code gods smile upon you 😊",
    "Your git history looks chaotic 🌪️",
    "Perfect timing! 🎯",
    "The servers are feeling moody 😤",
    "Deploy with confidence! 💪",
    "Maybe wait for coffee first ☕",
    "The CI/CD pipeline whispers 'yes' 🤖",
    "Your tests are crying 😢",
];

/// The verdict of `/can-i-push-to-prod` for a UTC weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PushVerdict {
    pub answer: &'static str,
    pub reason: &'static str,
    pub day: &'static str,
}

impl PushVerdict {
    /// The same JSON as its `Serialize` form, without a buffer.
    pub fn render_json(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        let members = [
            ("answer", self.answer),
            ("reason", self.reason),
            ("day", self.day),
        ];
        write_json_object(out, &members)
    }

    pub fn for_day(day: Weekday) -> PushVerdict {
        let reason = match day {
            Weekday::Monday => "It's Monday! Safe to deploy to production 🚀",
            Weekday::Tuesday => "It's Tuesday! Safe to deploy to production 🚀",
            Weekday::Wednesday => "It's Wednesday! Safe to deploy to production 🚀",
            Weekday::Thursday => "It's Thursday! Safe to deploy to production 🚀",
            Weekday::Friday => "It's Friday! Don't deploy before the weekend 🙅‍♂️",
            Weekday::Saturday => "It's Saturday! Weekend deployments are risky 🛑",
            Weekday::Sunday => "It's Sunday! Weekend deployments are risky 🛑",
        };
        let safe = !matches!(day, Weekday::Friday | Weekday::Saturday | Weekday::Sunday);
        PushVerdict {
            answer: if safe { "yes" } else { "no" },
            reason,
            day: day.name(),
        }
    }
}

/// A `/vibe-check` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Vibe {
    pub answer: &'static str,
    pub vibe: &'static str,
}

impl Vibe {
    /// The same JSON as its `Serialize` form, without a buffer.
    pub fn render_json(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        write_json_object(out, &[("answer", self.answer), ("vibe", self.vibe)])
    }

    /// Draws the answer and the vibe independently; rejection sampling keeps the vibe uniform.
    pub fn draw(rng: &mut impl rand_core::RngCore) -> Vibe {
        let answer = if rng.next_u32() & 1 == 0 { "yes" } else { "no" };
        const LIMIT: u32 = u32::MAX - u32::MAX % VIBES.len() as u32;
        let mut draw = rng.next_u32();
        // Each draw is accepted with probability > 1 - 2^-29; the bound only guards a broken RNG.
        for _ in 0..8 {
            if draw < LIMIT {
                break;
            }
            draw = rng.next_u32();
        }
        let vibe = VIBES
            .get(draw as usize % VIBES.len())
            .copied()
            .unwrap_or(VIBES[0]);
        Vibe { answer, vibe }
    }
}

/// `/`: a welcome and the main endpoints this build serves.
const ROOT_ENDPOINTS: &[(&str, &str)] = &from_routes!(|row| listed(row.path, row.root), ("", ""));

/// `/index`: every endpoint this build serves.
const INDEX_ENDPOINTS: &[(&str, &str)] = &from_routes!(|row| listed(row.path, row.index), ("", ""));

/// `/index`: example requests.
const USAGE: &[(&str, &str)] = &from_routes!(|row| row.usage, ("", ""));

/// A route's line in a listing, if it has one.
const fn listed(
    path: &'static str,
    line: Option<&'static str>,
) -> Option<(&'static str, &'static str)> {
    match line {
        Some(line) => Some((path, line)),
        None => None,
    }
}

/// The `/` document.
pub fn render_root(out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
    out.write_str("{\"message\":\"Welcome to the Push Decision API! 🚀\",\"endpoints\":")?;
    write_json_object(out, ROOT_ENDPOINTS)?;
    out.write_str("}")
}

/// The `/index` document.
pub fn render_index(out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
    out.write_str("{\"message\":\"Push Decision API - Index 📋\",\"description\":\"A simple API to help decide when it's appropriate to push code\",\"version\":\"1.0.0\",\"endpoints\":")?;
    write_json_object(out, INDEX_ENDPOINTS)?;
    out.write_str(",\"usage\":")?;
    write_json_object(out, USAGE)?;
    out.write_str("}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::codec::SliceSink;

    fn rendered(
        render: impl Fn(&mut dyn push_advisor_http::codec::TextSink) -> fmt::Result,
    ) -> heapless::Vec<u8, 2048> {
        let mut buf = [0u8; 2048];
        let mut sink = SliceSink::new(&mut buf);
        render(&mut sink).unwrap();
        let len = sink.len();
        heapless::Vec::from_slice(&buf[..len]).unwrap()
    }

    fn serialized(value: &impl serde::Serialize) -> heapless::Vec<u8, 2048> {
        let mut buf = [0u8; 2048];
        let len = serde_json_core::to_slice(value, &mut buf).unwrap();
        heapless::Vec::from_slice(&buf[..len]).unwrap()
    }

    /// With every route built in, `/` and `/index` are the original API's documents;
    /// constrained builds list only what they serve.
    #[test]
    #[cfg(all(feature = "login", feature = "openapi", feature = "as-mirror"))]
    fn root_and_index_are_the_originals_when_everything_is_served() {
        const ROOT: &str = r#"{"message":"Welcome to the Push Decision API! 🚀","endpoints":{"/can-i-push-to-prod":"Check if it's safe to push to production (Friday check)","/vibe-check":"Random vibe check for pushing to GitHub","/deploy-history":"Protected - View deployment history (OAuth required)","/login":"Utility - Manual OAuth token generation page","/mcp":"MCP endpoint (Streamable HTTP)","/openapi.json":"OpenAPI specification for this API"}}"#;
        const INDEX: &str = r#"{"message":"Push Decision API - Index 📋","description":"A simple API to help decide when it's appropriate to push code","version":"1.0.0","endpoints":{"/":"Root endpoint with welcome message","/index":"This index endpoint with API information","/can-i-push-to-prod":"Check if it's safe to push to production (Friday check)","/vibe-check":"Random vibe check for pushing to GitHub","/deploy-history":"Protected - View deployment history (OAuth required, scope api:read)","/login":"Utility - Manual OAuth token generation page","/mcp":"MCP endpoint (Streamable HTTP, OAuth protected)","/openapi.json":"OpenAPI specification for this API","/.well-known/oauth-protected-resource":"OAuth protected resource metadata (RFC 9728)","/.well-known/oauth-authorization-server":"OAuth authorization server metadata (RFC 8414)"},"usage":{"Production check":"GET /can-i-push-to-prod","Vibe check":"GET /vibe-check","Deploy history":"GET /deploy-history with Authorization: Bearer <token>","API docs":"GET /openapi.json"}}"#;
        assert_eq!(rendered(render_root).as_slice(), ROOT.as_bytes());
        // The one difference: `<` is written `\u003c` (the same JSON string).
        let index = INDEX.replace("<token>", "\\u003ctoken>");
        assert_eq!(rendered(render_index).as_slice(), index.as_bytes());
    }

    /// MCP renders results without a buffer; REST serializes them. Both must agree.
    #[test]
    fn rendered_results_equal_the_serialized_ones() {
        for day in 0..7u64 {
            let verdict = PushVerdict::for_day(Weekday::from_unix_seconds(day * 86_400));
            assert_eq!(
                rendered(|out| verdict.render_json(out)),
                serialized(&verdict)
            );
        }
        for vibe in VIBES {
            for answer in ["yes", "no"] {
                let vibe = Vibe { answer, vibe };
                assert_eq!(rendered(|out| vibe.render_json(out)), serialized(&vibe));
            }
        }
    }
}
