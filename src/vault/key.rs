//! The master key: 32 random bytes, loaded from an environment variable or a key file.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use hmac::{Hmac, Mac};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Environment variable holding the base64 master key.
pub const MASTER_KEY_ENV: &str = "ML_CONNECTOR_MASTER_KEY";
/// Environment variable naming a key file (used when [`MASTER_KEY_ENV`] is unset).
pub const MASTER_KEY_FILE_ENV: &str = "ML_CONNECTOR_MASTER_KEY_FILE";

/// Length of a master key in bytes.
pub const KEY_LEN: usize = 32;

const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 256-bit master key. The bytes are zeroized on drop and never printed: `Debug` shows only
/// the key id, a non-reversible fingerprint (HMAC-SHA256 of a fixed label under the key, first 8
/// bytes in hex) that the vault records next to every ciphertext.
pub struct MasterKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// Wraps 32 key bytes. The caller should zeroize its own copy.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
            .expect("HMAC accepts a key of any length");
        mac.update(b"ml-connector vault key id v1");
        let tag = mac.finalize().into_bytes();
        let id = tag[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            bytes: SecretBox::new(Box::new(bytes)),
            id,
        }
    }

    /// A new random key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(bytes.as_mut());
        Self::from_bytes(*bytes)
    }

    /// Decodes a base64 key (standard or URL-safe alphabet, padding optional, surrounding
    /// whitespace ignored). `source` names where the text came from (e.g. the environment
    /// variable) so the error can say what to fix; the text itself never appears in errors.
    pub fn from_base64(text: &str, source: &str) -> Result<Self> {
        Self::decode(
            text,
            source,
            "it must be 32 random bytes encoded as base64 (44 characters), e.g. the output of \
             `openssl rand -base64 32`",
        )
    }

    fn decode(text: &str, source: &str, expected: &str) -> Result<Self> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Error::config(
                source,
                format!("the master key is empty; {expected}"),
            ));
        }
        let decoded = STANDARD
            .decode(trimmed)
            .or_else(|_| URL_SAFE.decode(trimmed))
            .map(Zeroizing::new)
            .map_err(|_| {
                Error::config(
                    source,
                    format!("the master key is not valid base64; {expected}"),
                )
            })?;
        Self::from_slice(&decoded, source)
    }

    fn from_slice(bytes: &[u8], source: &str) -> Result<Self> {
        let array: Zeroizing<[u8; KEY_LEN]> =
            bytes.try_into().map(Zeroizing::new).map_err(|_| {
                Error::config(
                    source,
                    format!(
                        "the master key is {} bytes long but must be exactly {KEY_LEN}; \
                     generate one with `openssl rand -base64 32`",
                        bytes.len()
                    ),
                )
            })?;
        Ok(Self::from_bytes(*array))
    }

    /// Reads a key file holding either exactly 32 raw bytes or the key in base64. On unix the
    /// file must not be accessible by group or others (`chmod 600`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let source = format!("master key file {}", path.display());
        check_private(path, &source)?;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
            Error::config(
                &source,
                format!("cannot read it: {e}; check the path and that this user may read it"),
            )
        })?);
        if bytes.len() == KEY_LEN {
            return Self::from_slice(&bytes, &source);
        }
        let expected = format!(
            "the file ({} bytes) must hold exactly {KEY_LEN} raw bytes or the key in base64; \
             create one with `openssl rand -base64 32 > {}` and `chmod 600` it",
            bytes.len(),
            path.display()
        );
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::config(
                &source,
                format!("binary data of the wrong length; {expected}"),
            )
        })?;
        Self::decode(text, &source, &expected)
    }

    /// Loads the key from the process environment: [`MASTER_KEY_ENV`] (base64) if set,
    /// otherwise the file named by [`MASTER_KEY_FILE_ENV`].
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into()))
    }

    /// As [`MasterKey::from_env`], with the variables looked up through `lookup` (tests and
    /// hosts with their own configuration source pass a closure instead of touching the
    /// process environment).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        if let Some(value) = lookup(MASTER_KEY_ENV) {
            let value = Zeroizing::new(value);
            return Self::from_base64(&value, MASTER_KEY_ENV);
        }
        match lookup(MASTER_KEY_FILE_ENV) {
            Some(path) if !path.trim().is_empty() => Self::from_file(path.trim()),
            _ => Err(Error::config(
                MASTER_KEY_ENV,
                format!(
                    "no master key: set {MASTER_KEY_ENV} to a base64 key \
                     (`openssl rand -base64 32`) or {MASTER_KEY_FILE_ENV} to the path of a \
                     key file readable only by this user (chmod 600)"
                ),
            )),
        }
    }

    /// Generates a new key and writes it, base64-encoded, to a new file created with mode
    /// 0600 on unix. Refuses to overwrite an existing file.
    pub fn generate_key_file(path: impl AsRef<Path>) -> Result<Self> {
        use std::io::Write as _;
        let path = path.as_ref();
        let key = Self::generate();
        let source = format!("master key file {}", path.display());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            Error::config(
                &source,
                format!("cannot create it: {e}; choose a path that does not exist yet"),
            )
        })?;
        let mut text = Zeroizing::new(key.to_base64().expose_secret().to_owned());
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::config(&source, format!("cannot write it: {e}")))?;
        Ok(key)
    }

    /// The key in standard base64, for handing to a secret manager once. Handle with care.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(base64::engine::general_purpose::STANDARD.encode(self.expose()))
    }

    /// The key id recorded in every envelope sealed under this key.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose_secret()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("bytes", &format_args!("[REDACTED]"))
            .finish()
    }
}

#[cfg(unix)]
fn check_private(path: &Path, source: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::config(
            source,
            format!("cannot read it: {e}; check the path and that this user may read it"),
        )
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::config(
            source,
            format!(
                "the file is accessible by group or others (mode {mode:03o}); restrict it with \
                 `chmod 600 {}`",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _source: &str) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_stable_and_distinguishes_keys() {
        let a = MasterKey::from_bytes([7; KEY_LEN]);
        let b = MasterKey::from_bytes([7; KEY_LEN]);
        let c = MasterKey::from_bytes([8; KEY_LEN]);
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
        assert_eq!(a.id().len(), 16);
        assert!(a.id().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn base64_accepts_standard_urlsafe_and_unpadded() {
        let key = MasterKey::generate();
        let std = key.to_base64().expose_secret().to_owned();
        let url = std.replace('+', "-").replace('/', "_");
        for text in [
            std.clone(),
            format!("  {std}\n"),
            std.trim_end_matches('=').to_owned(),
            url,
        ] {
            let again = MasterKey::from_base64(&text, "test").expect("decodes");
            assert_eq!(again.id(), key.id());
        }
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(MasterKey::generate().id(), MasterKey::generate().id());
    }
}
