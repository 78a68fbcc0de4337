//! The login callback (`/token?code=…&state=…`) through the whole app: a real `/login`
//! first, then a callback from the same browser (its login cookie sent back) whose query
//! is the input's first line (`STATE` stands for the state `/login` issued) and whose
//! provider answer to the code exchange is the rest.
//! One answer always; a 200 only after the provider answered 200; nothing from the
//! query or the provider reaches the HTML unescaped; no call to the provider without a
//! known state.
#![no_main]

use std::cell::RefCell;

use embassy_futures::block_on;
use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::serve_input;
use push_advisor_fuzz::support::parse_responses;
use push_advisor_fuzz::wired_app;
use push_advisor_http::net::{Connect, Endpoint};

/// Seeds put this in the query and in the provider's answer: the page must escape it.
const MARKUP: &str = "<x-fuzz";

/// A login begun by `/login`: its state and the `Cookie` header that carries it back.
struct Begun {
    state: String,
    cookie: String,
}

thread_local! {
    /// The login begun and not yet finished. `/login` renders a whole page, so a new
    /// login is begun only once the callback has used up the last one (a state is good
    /// for one code exchange), not for every input.
    static BEGUN: RefCell<Option<Begun>> = const { RefCell::new(None) };
}

/// `/login` through the app: the state in the provider link and the login cookie it set.
fn begin_login() -> Begun {
    let output = serve_input(
        b"GET /login HTTP/1.1\r\nHost: 127.0.0.1:8787\r\n\r\n",
        usize::MAX,
    );
    let responses = parse_responses(&output, &[false]);
    let page = String::from_utf8_lossy(&responses[0].body);
    let start = page
        .find("state=")
        .expect("the login page links to the provider")
        + 6;
    let state = page[start..]
        .split(['&', '"', '\r'])
        .next()
        .unwrap_or_default()
        .to_string();
    let set_cookie = responses[0]
        .header("set-cookie")
        .expect("/login sets the login cookie");
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();
    assert!(cookie.ends_with(&format!("={state}")), "{set_cookie}");
    Begun { state, cookie }
}

fuzz_target!(|data: &[u8]| {
    let wired = wired_app();
    let line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (query, provider_answer) = data.split_at(line_end);
    let provider_answer = provider_answer.get(1..).unwrap_or_default();
    let Ok(query) = core::str::from_utf8(query) else {
        return;
    };
    if query
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return; // would not be one request line
    }
    let Begun { state, cookie } = BEGUN
        .with_borrow_mut(|begun| begun.take())
        .unwrap_or_else(begin_login);
    let query = query.replace("STATE", &state);
    wired.connector.push(provider_answer);
    let connects = wired.connector.connects();
    // The browser that began the login sends its cookie back.
    let request =
        format!("GET /token?{query} HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nCookie: {cookie}\r\n\r\n");
    let output = serve_input(request.as_bytes(), usize::MAX);
    let called = wired.connector.connects() > connects;
    if !called {
        // Take the unused answer back, so the next input starts clean.
        let endpoint = Endpoint::parse("http://127.0.0.1:9000/token").expect("valid");
        drop(block_on(wired.connector.connect(&endpoint)));
    }
    wired.connector.sent.borrow_mut().clear();
    let responses = parse_responses(&output, &[false]);
    assert_eq!(responses.len(), 1);
    let page = &responses[0];
    let body = String::from_utf8_lossy(&page.body);
    assert!(
        !body.contains(MARKUP),
        "unescaped markup in the page: {body}"
    );
    if page.status == 200 {
        assert!(called, "a 200 without a code exchange");
    }
    if called {
        assert!(
            query.contains(&state),
            "the provider was called without the issued state"
        );
    } else {
        // Not exchanged, so not used up: the next input finishes the same login.
        BEGUN.with_borrow_mut(|begun| *begun = Some(Begun { state, cookie }));
    }
});
