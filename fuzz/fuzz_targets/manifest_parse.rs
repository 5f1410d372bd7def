//! Manifest parsing on arbitrary bytes: never panics, and whatever parses re-encodes to the
//! same bytes (the encoding is canonical) and respects the format's limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealdrop_crypto::format::manifest::{MAX_FILES, MAX_STANZAS};
use sealdrop_crypto::{plaintext_size, Manifest, MAX_MANIFEST_SIZE};

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::parse(data) {
        assert_eq!(manifest.to_bytes(), data, "parse/encode must round-trip exactly");
        assert!(data.len() <= MAX_MANIFEST_SIZE);
        let kinds = manifest.stanza_kinds();
        assert!((1..=MAX_STANZAS).contains(&kinds.len()));
        assert!(manifest.files().len() <= MAX_FILES);
        for file in manifest.files() {
            assert!(plaintext_size(file.ciphertext_size).is_ok());
        }
        assert_eq!(Manifest::parse(&manifest.to_bytes()).as_ref(), Ok(&manifest));
    }
});
