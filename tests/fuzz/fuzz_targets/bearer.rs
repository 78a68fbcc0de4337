//! Bearer extraction, from the header values alone and from a whole parsed request: a
//! token found is token68 and a piece of the input; a second Authorization is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use push_advisor_http::Limits;
use push_advisor_http::request::{Parse, parse_head};
use push_advisor_oauth::bearer::is_token68;
use push_advisor_oauth::{BearerError, bearer_from_authorization, bearer_token};

fuzz_target!(|data: &[u8]| {
    // Up to the first 0 byte: one header value; after it, a second one.
    let mut values = data.splitn(2, |&b| b == 0);
    let first = values.next().unwrap_or_default();
    let second = values.next();
    if let Ok(Some(token)) = bearer_from_authorization([first]) {
        assert!(is_token68(token));
        assert!(first.ends_with(token.as_bytes()));
    }
    if let Some(second) = second {
        assert_eq!(
            bearer_from_authorization([first, second]),
            Err(BearerError::RepeatedHeader)
        );
    }
    // The same bytes as a whole request.
    if let Ok(Parse::Complete(head)) = parse_head(data, &Limits::default())
        && let Ok(Some(token)) = bearer_token(&head.request)
    {
        assert!(is_token68(token));
        assert!(head.request.header_count("authorization") == 1);
        assert!(head.request.query_param("access_token").is_none());
    }
});
