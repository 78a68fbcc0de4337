//! The whole connection loop with the Push Advisor app over an in-memory connection:
//! any bytes from a client, cut into reads of any size, get only well-formed answers
//! and the loop ends when the client has closed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::{check_answers, read_size_and_rest, serve_input};

fuzz_target!(|data: &[u8]| {
    let (read_size, input) = read_size_and_rest(data);
    check_answers(&serve_input(input, read_size));
});
