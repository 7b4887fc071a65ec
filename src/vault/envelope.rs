//! The sealed envelope: `v1:<key id>:<nonce>:<ciphertext>`.
//!
//! * `v1` — format version; a later format gets a new prefix and old entries stay readable.
//! * `<key id>` — 16 hex digits identifying the master key ([`MasterKey::id`]), so an entry
//!   sealed under another key is reported as such instead of failing as "tampered".
//! * `<nonce>` — 24 random bytes (XChaCha20 nonce from the OS CSPRNG), base64url without padding.
//! * `<ciphertext>` — XChaCha20-Poly1305 output (JSON plaintext + 16-byte tag), base64url without
//!   padding.
//!
//! The associated data is `ml-connector/vault/v1:` followed by the credential id, so a
//! ciphertext copied under another id fails authentication.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use secrecy::zeroize::Zeroizing;

use super::key::MasterKey;
use crate::error::{Error, Result};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;

fn aad(id: &str) -> Vec<u8> {
    format!("ml-connector/vault/{VERSION}:{id}").into_bytes()
}

fn cipher(key: &MasterKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(Key::from_slice(key.expose()))
}

/// Encrypts `plaintext` for credential `id` under `key`.
pub(crate) fn seal(key: &MasterKey, id: &str, plaintext: &[u8]) -> Result<String> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = aad(id);
    let ciphertext = cipher(key)
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| Error::Vault {
            message: format!("credential `{id}`: encryption failed (plaintext too large?)"),
        })?;
    Ok(format!(
        "{VERSION}:{}:{}:{}",
        key.id(),
        B64.encode(nonce),
        B64.encode(ciphertext)
    ))
}

/// The key id an envelope was sealed under, if the envelope is well formed enough to say.
pub(crate) fn key_id(sealed: &str) -> Option<&str> {
    let mut parts = sealed.split(':');
    match (parts.next(), parts.next()) {
        (Some(VERSION), Some(kid)) => Some(kid),
        _ => None,
    }
}

/// Decrypts the envelope stored for credential `id`. Every failure is an [`Error::Vault`]
/// naming the id; none carries plaintext or key material.
pub(crate) fn open(key: &MasterKey, id: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>> {
    let malformed = |what: &str| Error::Vault {
        message: format!(
            "credential `{id}`: the stored envelope is malformed ({what}); it was damaged or not \
             written by this vault: restore it from a backup or store the credential again"
        ),
    };
    let parts: Vec<&str> = sealed.trim().split(':').collect();
    let [version, kid, nonce, ciphertext] = parts[..] else {
        return Err(malformed("expected v1:<key id>:<nonce>:<ciphertext>"));
    };
    if version != VERSION {
        return Err(Error::Vault {
            message: format!(
                "credential `{id}`: envelope format `{}` is not supported by this build \
                 (it reads `{VERSION}`): upgrade ml-connector",
                version.chars().take(8).collect::<String>()
            ),
        });
    }
    if kid != key.id() {
        return Err(Error::Vault {
            message: format!(
                "credential `{id}` is sealed under master key id {} but the loaded master key \
                 has id {}: load the matching key (wrong ML_CONNECTOR_MASTER_KEY?), or if the \
                 vault was only partly rotated, run Vault::rotate with the key that has id {}",
                kid.chars().take(16).collect::<String>(),
                key.id(),
                kid.chars().take(16).collect::<String>()
            ),
        });
    }
    let nonce = B64
        .decode(nonce)
        .ok()
        .filter(|n| n.len() == NONCE_LEN)
        .ok_or_else(|| malformed("the nonce is not 24 bytes of base64url"))?;
    let ciphertext = B64
        .decode(ciphertext)
        .map_err(|_| malformed("the ciphertext is not base64url"))?;
    let aad = aad(id);
    cipher(key)
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Vault {
            message: format!(
                "credential `{id}`: decryption failed authentication: the ciphertext was \
                 modified, copied from another credential id, or sealed under a different key \
                 with the same id; restore the entry from a backup or store the credential again"
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes([42; 32])
    }

    #[test]
    fn seal_open_round_trip_and_fresh_nonce_each_time() {
        let a = seal(&key(), "qad/acme", b"{\"password\":\"pw\"}").unwrap();
        let b = seal(&key(), "qad/acme", b"{\"password\":\"pw\"}").unwrap();
        assert_ne!(a, b, "each seal draws a new nonce");
        assert!(a.starts_with(&format!("v1:{}:", key().id())));
        assert_eq!(key_id(&a), Some(key().id()));
        let plain = open(&key(), "qad/acme", &a).unwrap();
        assert_eq!(&plain[..], b"{\"password\":\"pw\"}");
    }

    #[test]
    fn malformed_and_unknown_version_are_vault_errors() {
        for (sealed, needle) in [
            ("garbage", "malformed"),
            ("v1:abc:def", "malformed"),
            ("v9:a:b:c", "not supported"),
            (&format!("v1:{}:!!:AAAA", key().id()), "nonce"),
        ] {
            let err = open(&key(), "x", sealed).unwrap_err();
            assert!(matches!(err, Error::Vault { .. }), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn truncated_ciphertext_fails_authentication() {
        let sealed = seal(&key(), "id", b"secret").unwrap();
        let (head, ct) = sealed.rsplit_once(':').unwrap();
        let mut ct = B64.decode(ct).unwrap();
        ct.truncate(ct.len() - 1);
        let cut = format!("{head}:{}", B64.encode(ct));
        let err = open(&key(), "id", &cut).unwrap_err();
        assert!(err.to_string().contains("failed authentication"), "{err}");
    }
}
