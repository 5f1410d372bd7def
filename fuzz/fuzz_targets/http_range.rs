//! The `Range` header of downloads on any text and file size: never panics, and an accepted
//! range is non-empty and inside the file, with the bounds the header names.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealdrop_api::range::parse_range;

fuzz_target!(|input: (u64, &str)| {
    let (size, value) = input;
    // Small files too, where the edges are.
    for size in [size, size % 4096, 0, 1] {
        if let Ok(span) = parse_range(value, size) {
            assert!(span.start < span.end, "{value:?} on {size}: empty span {span:?}");
            assert!(span.end <= size, "{value:?} on {size}: {span:?} past the end");
            let spec = value.trim().strip_prefix("bytes=").expect("accepted means bytes=").trim();
            let (first, _) = spec.split_once('-').expect("accepted means a dash");
            if let Ok(first) = first.trim().parse::<u64>() {
                assert_eq!(span.start, first, "{value:?}: starts where asked");
            }
        }
    }
});
