//! Values are postcard-encoded behind a one-byte format version. Postcard is compact and fast
//! but not self-describing, so a change to a stored type bumps its version and gets a migration.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// The version byte written in front of every value today.
pub const FORMAT_V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![FORMAT_V1];
    postcard::to_io(value, &mut out).map_err(|e| StoreError::Database(format!("encode: {e}")))?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => postcard::from_bytes(body)
            .map_err(|e| StoreError::Corrupt(format!("undecodable value: {e}"))),
        Some((v, _)) => Err(StoreError::Corrupt(format!(
            "unknown value format version {v}"
        ))),
        None => Err(StoreError::Corrupt("empty value".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let bytes = encode(&("hello", 42u32)).unwrap();
        assert_eq!(bytes[0], FORMAT_V1);
        assert_eq!(
            decode::<(String, u32)>(&bytes).unwrap(),
            ("hello".to_string(), 42)
        );
        let mut future = bytes.clone();
        future[0] = 9;
        assert!(matches!(
            decode::<(String, u32)>(&future),
            Err(StoreError::Corrupt(_))
        ));
        assert!(decode::<(String, u32)>(&[]).is_err());
    }
}
