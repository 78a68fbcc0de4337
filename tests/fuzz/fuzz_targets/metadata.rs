//! The provider-metadata reader, through discovery over a replayed answer: a document
//! is kept only with the configured issuer, in the host's and in a device's bounds, and
//! the mirror rendered from what was kept is valid JSON.
#![no_main]

use embassy_futures::block_on;
use libfuzzer_sys::fuzz_target;
use push_advisor_http::testing::FakeConnector;
use push_advisor_oauth::metadata::Members;
use push_advisor_oauth::{ProviderMetadata, discover};

fn answer(body: &[u8]) -> Vec<u8> {
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body);
    reply
}

fuzz_target!(|body: &[u8]| {
    let config = push_advisor_oauth::testing::config();
    let reply = answer(body);
    let mut buffer = [0u8; 4096];
    let connector = FakeConnector::replying(&[&reply]);
    let host: Result<ProviderMetadata, _> = block_on(discover(&connector, &config, &mut buffer));
    if let Ok(metadata) = &host {
        assert_eq!(metadata.view().issuer(), config.issuer);
        let mut mirror = String::new();
        metadata
            .view()
            .document()
            .render(&mut mirror)
            .expect("renders into a String");
        let reread: serde_json::Value = serde_json::from_str(&mirror)
            .unwrap_or_else(|e| panic!("mirror is not JSON ({e}): {mirror}"));
        assert_eq!(reread["issuer"], config.issuer);
        // The hand-written renderer writes what the derived `Serialize` gives (up to
        // which characters are escaped).
        let serialized = serde_json::to_value(metadata.view().document()).expect("serializes");
        assert_eq!(reread, serialized);
    }
    // A device keeps fewer members in less room; it reads the same documents.
    const DEVICE: u16 = Members::VALIDATION.bits();
    let connector = FakeConnector::replying(&[&reply]);
    let device: Result<ProviderMetadata<384, DEVICE>, _> =
        block_on(discover(&connector, &config, &mut buffer));
    if let Ok(metadata) = &device {
        assert_eq!(metadata.view().issuer(), config.issuer);
    }
});
