//! The JSON config parsers of the trainer (`TrainConfig::from_json`, `SweepConfig::from_json`)
//! on arbitrary text: never panic, every error names its key, and an accepted config survives
//! a JSON round trip.
//!
//! Messages must also be one line, except where the input spells a line break inside a
//! string with a JSON escape (`"a\nb"`): keys and values echoed from such strings are quoted
//! as they are by serde, so that case is left to the tests in `tests/hostile_configs.rs`.
#![no_main]

use ipbn_fuzz::check_message;
use ipbn_train::{ConfigError, SweepConfig, TrainConfig};
use libfuzzer_sys::fuzz_target;

fn check(e: &ConfigError, text: &str) {
    let key = format!("`{}`", e.key);
    let msg = e.to_string();
    if text.contains('\\') {
        assert!(msg.contains(&key), "error does not name its key: {msg:?}");
    } else {
        check_message(&msg, &key);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match TrainConfig::from_json(text) {
        Ok(cfg) => {
            let json = serde_json::to_string(&cfg).expect("a config serialises");
            let back = TrainConfig::from_json(&json).expect("its JSON parses back");
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
        Err(e) => check(&e, text),
    }
    match SweepConfig::from_json(text) {
        Ok(sweep) => {
            let json = serde_json::to_string(&sweep).expect("a sweep serialises");
            SweepConfig::from_json(&json).expect("its JSON parses back");
        }
        Err(e) => check(&e, text),
    }
});
