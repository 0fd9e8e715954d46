//! Lower-case hexadecimal, for hashes in file names, ETags and public handles.

pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SHA-256 from its 64 hex digits; `None` for anything else.
pub fn decode_sha256(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_anything_else() {
        let sha = [0xab; 32];
        assert_eq!(decode_sha256(&encode(&sha)), Some(sha));
        assert_eq!(encode(&[0x00, 0x0f, 0xff]), "000fff");
        assert_eq!(decode_sha256("ab"), None);
        assert_eq!(decode_sha256(&"zz".repeat(32)), None);
    }
}
