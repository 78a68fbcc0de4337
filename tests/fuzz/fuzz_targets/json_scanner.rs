//! The bounded JSON scanner against serde_json: what serde_json accepts within the
//! scanner's nesting bound the scanner accepts too, with the same shape (kinds, array
//! lengths, decoded strings, member names); every value it gives is a piece of the text.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::within;
use push_advisor_http::json::{self, Kind, MAX_DEPTH, Value};

/// Members per object that `get` is asked for too.
const GET_CHECKED: usize = 16;

fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Walks the scanner's view and the reference tree together.
fn same_shape(text: &str, ours: Value<'_>, reference: &serde_json::Value) {
    assert!(within(text.as_bytes(), ours.raw().as_bytes()));
    match reference {
        serde_json::Value::Null => assert_eq!(ours.kind(), Kind::Null),
        serde_json::Value::Bool(_) => assert_eq!(ours.kind(), Kind::Bool),
        serde_json::Value::Number(_) => assert_eq!(ours.kind(), Kind::Number),
        serde_json::Value::String(expected) => {
            assert_eq!(ours.kind(), Kind::String);
            let decoded = ours.to_bounded::<4096>();
            if expected.len() <= 4096 {
                assert_eq!(decoded.as_deref(), Some(expected.as_str()));
                assert!(ours.as_str().is_some_and(|s| s.eq_str(expected)));
            }
        }
        serde_json::Value::Array(items) => {
            assert_eq!(ours.kind(), Kind::Array);
            assert_eq!(ours.elements().count(), items.len());
            for (item, expected) in ours.elements().zip(items) {
                same_shape(text, item, expected);
            }
        }
        serde_json::Value::Object(members) => {
            assert_eq!(ours.kind(), Kind::Object);
            // serde_json keeps the last of repeated names; the scanner shows them all.
            assert!(ours.members().count() >= members.len());
            // Decoded once per object: `get` walks every member, so asking it for each
            // one made large objects quadratic (it is still asked for the first ones).
            let mut key = [0u8; 4096];
            let names: Vec<Option<String>> = ours
                .members()
                .map(|(name, _)| name.decode_into(&mut key).map(str::to_owned))
                .collect();
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for name in names.iter().flatten() {
                *seen.entry(name).or_default() += 1;
            }
            for (index, ((_, value), name)) in ours.members().zip(&names).enumerate() {
                let Some(key) = name.as_deref() else {
                    continue;
                };
                assert!(
                    members.contains_key(key),
                    "member {key:?} unknown to serde_json"
                );
                let unique = seen[key] == 1;
                if index < GET_CHECKED {
                    match ours.get(key) {
                        Ok(Some(found)) => {
                            assert!(unique, "get found one of repeated {key:?}");
                            assert_eq!(found.raw().as_ptr(), value.raw().as_ptr());
                        }
                        Ok(None) => panic!("get did not find member {key:?}"),
                        Err(_) => assert!(!unique, "get refused unique {key:?}"),
                    }
                }
                if unique {
                    same_shape(text, value, &members[key]);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let ours = json::parse(text);
    if let Ok(reference) = serde_json::from_str::<serde_json::Value>(text)
        && depth(&reference) < MAX_DEPTH
    {
        let ours = ours.expect("serde_json accepts it, the scanner refused it");
        same_shape(text, ours, &reference);
    }
    if let Ok(value) = ours {
        // Walking any accepted document ends and stays inside the text.
        for (name, member) in value.members() {
            assert!(
                within(text.as_bytes(), name.raw().as_bytes())
                    && within(text.as_bytes(), member.raw().as_bytes())
            );
        }
        for item in value.elements() {
            assert!(within(text.as_bytes(), item.raw().as_bytes()));
        }
    }
});
