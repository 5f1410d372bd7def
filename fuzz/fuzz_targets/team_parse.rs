//! Team keys' parsers on arbitrary input (docs/FORMAT.md §17-§19): never panic; what parses is
//! canonical. The first byte picks the parser: 0 a roster (also verified against a fixed pin,
//! which must refuse or accept without panicking), 1 a wrapped admin key, 2 a recovery code
//! (the rest as text), 3 a fingerprint (the rest as text).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealdrop_crypto::format::admin_key_blob::AdminKeyBlob;
use sealdrop_crypto::{Fingerprint, RecoveryCode, Roster, VerifiedRoster, MAX_ROSTER_SIZE};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(roster) = Roster::parse(rest) {
                assert_eq!(roster.to_bytes(), rest, "parse/encode must round-trip exactly");
                assert!(rest.len() <= MAX_ROSTER_SIZE);
                let content = roster.content();
                assert!(content.devices().len() <= 15);
                assert!(content
                    .devices()
                    .windows(2)
                    .all(|pair| pair[0].device_key() < pair[1].device_key()));
                let pin = Fingerprint::from_bytes([0; 16]);
                let _ = VerifiedRoster::verify(rest, &pin, content.tenant(), None);
            }
        }
        1 => {
            if let Ok(blob) = AdminKeyBlob::parse(rest) {
                assert_eq!(blob.to_bytes(), rest);
            }
        }
        2 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(code) = RecoveryCode::parse(&text) {
                assert_eq!(RecoveryCode::parse(&code.to_text()).as_ref(), Ok(&code));
            }
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(fingerprint) = Fingerprint::parse(&text) {
                assert_eq!(Fingerprint::parse(&fingerprint.to_display()), Ok(fingerprint));
            }
        }
    }
});
