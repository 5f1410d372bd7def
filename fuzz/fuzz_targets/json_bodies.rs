//! JSON request bodies on any bytes, as the settings endpoint decodes them: never panics,
//! and a refusal is one sentence for the caller that says what is wrong.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealdrop_api::json::decode_json;
use sealdrop_api::settings::SettingsUpdate;

fuzz_target!(|data: &[u8]| {
    match decode_json::<SettingsUpdate>(data) {
        Ok(update) => {
            // What parsed is an object of known fields only.
            let value: serde_json::Value = serde_json::from_slice(data).expect("accepted is JSON");
            let object = value.as_object().expect("accepted is an object");
            assert_eq!(update.fields().len(), object.len(), "every field read, none invented");
        }
        Err(message) => {
            assert!(
                message.starts_with("The request body "),
                "a sentence for the caller: {message:?}"
            );
            assert!(message.ends_with('.'), "{message:?}");
        }
    }
    let _ = decode_json::<serde_json::Value>(data);
});
