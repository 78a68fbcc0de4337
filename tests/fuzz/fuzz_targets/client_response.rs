//! The HTTP client's response reader (status line, headers, Content-Length, chunked,
//! close-delimited, 1xx interim answers) on any bytes from a server, cut into reads of
//! any size: a response it accepts is final, and its body is no longer than what came.
#![no_main]

use embassy_futures::block_on;
use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::read_size_and_rest;
use push_advisor_http::client::{ClientError, Outgoing, exchange};
use push_advisor_http::net::Endpoint;
use push_advisor_http::testing::FakeConnection;

fuzz_target!(|data: &[u8]| {
    let (read_size, answer) = read_size_and_rest(data);
    let reads: Vec<&[u8]> = answer
        .chunks(read_size.clamp(1, answer.len().max(1)))
        .collect();
    let mut conn = FakeConnection::new(&reads);
    let endpoint = Endpoint::parse("http://127.0.0.1:9000/token/introspection").expect("valid");
    let request = Outgoing {
        method: "POST",
        endpoint: &endpoint,
        headers: &[("Accept", "application/json")],
        authorization: None,
        form: Some(&|out: &mut dyn push_advisor_http::codec::TextSink| out.write_str("token=abc")),
        keep_alive: true,
    };
    let mut buffer = [0u8; 4096];
    match block_on(exchange(&mut conn, &request, &mut buffer)) {
        Ok(response) => {
            assert!(
                (200..1000).contains(&response.status),
                "status {}",
                response.status
            );
            assert!(response.body.len() <= answer.len());
            assert!(!response.reusable || conn.reused());
        }
        Err(ClientError::Io(_) | ClientError::RequestTooLarge | ClientError::InvalidRequest) => {
            panic!("the request is fixed and the connection never fails")
        }
        Err(_) => {}
    }
    assert!(
        conn.written()
            .starts_with(b"POST /token/introspection HTTP/1.1\r\n")
    );
});
