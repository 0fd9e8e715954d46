//! Arbitrary bytes through the upload check: sniffing, then decoding under the limits or
//! reading the video container. Must never panic, hang or allocate beyond the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hearth::media::inspect_bytes(data);
});
