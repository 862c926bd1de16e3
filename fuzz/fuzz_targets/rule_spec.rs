//! The rule-spec parser on arbitrary text: never panics, every error is one line, and an
//! accepted spec's canonical form parses back to itself.
#![no_main]

use ipbn_fuzz::check_message;
use ipbn_neurons::registry::parse_spec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_spec(text) {
        Ok(spec) => {
            let canon = spec.to_string();
            let again = parse_spec(&canon).expect("the canonical form parses");
            assert_eq!(again.to_string(), canon);
        }
        Err(e) => check_message(&e.to_string(), ""),
    }
});
