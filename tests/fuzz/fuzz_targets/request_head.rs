//! The request head parser on any bytes: it never claims more bytes than it was given,
//! what it returns (a body that has arrived too) borrows the input, and a complete head stays complete (with the
//! same length) when more bytes follow it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::within;
use push_advisor_http::Limits;
use push_advisor_http::request::{Parse, parse_head};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(Parse::Complete(head)) = parse_head(data, &limits) else {
        return;
    };
    assert!(
        head.head_len <= data.len(),
        "head_len {} > {}",
        head.head_len,
        data.len()
    );
    assert!(head.head_len <= limits.max_head_bytes);
    let request = head.request;
    assert!(within(data, request.path.as_bytes()));
    assert!(request.path.len() + request.query.map_or(0, str::len) <= limits.max_target_len);
    assert!(
        request
            .query
            .is_none_or(|query| within(data, query.as_bytes()))
    );
    assert!(within(data, request.body));
    assert!(request.body.len() <= data.len() - head.head_len);
    for (name, value) in request.headers() {
        assert!(within(data, name.as_bytes()) && within(data, value));
        assert!(!name.is_empty());
        assert!(!value.contains(&b'\n') && !value.contains(&b'\r'));
    }
    assert!(request.headers().count() <= limits.max_headers);
    // The head ends where it said: the same prefix alone parses to the same head.
    let prefix = &data[..head.head_len];
    match parse_head(prefix, &limits) {
        Ok(Parse::Complete(again)) => assert_eq!(again.head_len, head.head_len),
        other => panic!("the head alone did not parse again: {other:?}"),
    }
});
