//! `RuleSpec`'s JSON form on arbitrary text: never panics, every error is one line, and an
//! accepted spec survives a JSON round trip with the same rule and step kind.
#![no_main]

use ipbn_fuzz::check_message;
use ipbn_neurons::RuleSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match serde_json::from_str::<RuleSpec>(text) {
        Ok(spec) => {
            let json = serde_json::to_string(&spec).expect("a spec serialises");
            let back: RuleSpec = serde_json::from_str(&json).expect("its JSON parses back");
            assert_eq!(back.id(), spec.id());
            assert_eq!(
                std::mem::discriminant(&back.step),
                std::mem::discriminant(&spec.step)
            );
        }
        Err(e) => check_message(&e.to_string(), ""),
    }
});
