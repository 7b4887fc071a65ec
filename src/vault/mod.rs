//! The credential vault: named credential sets encrypted at rest.
//!
//! A [`CredentialSet`] is a named group of secrets, e.g. `qad/acme` holding `client_id`,
//! `username` and `password`, or `amazon/eu-seller1` holding `lwa_client_id`,
//! `lwa_client_secret` and `refresh_token`. The [`Vault`] seals each set with
//! XChaCha20-Poly1305 under a 32-byte [`MasterKey`], with the credential id as associated data,
//! and keeps only the sealed envelope in a [`VaultStore`] ([`FileStore`] or [`MemoryStore`]).
//!
//! * A modified ciphertext, a wrong master key or an envelope copied to another id is an
//!   [`Error::Vault`], never garbage plaintext.
//! * Every envelope records the id of the key that sealed it, so [`Vault::rotate`] can
//!   re-encrypt everything under a new key and [`Vault::stale_ids`] finds entries under another.
//! * Values are [`SecretString`]s in memory; `Debug` and `Display` of every vault type print
//!   `[REDACTED]` instead of values, and no error message contains a value or key material.
//!
//! The API is synchronous: it is small local I/O done at start-up (or by an admin tool).
//!
//! ```
//! use ml_connector::vault::{CredentialSet, MasterKey, Vault};
//! use secrecy::ExposeSecret;
//!
//! let vault = Vault::in_memory(MasterKey::generate());
//! let set = CredentialSet::new()
//!     .with("client_id", "connector")
//!     .with("username", "svc_integration@acme.com")
//!     .with("password", "correct horse battery staple");
//! vault.put("qad/acme", &set)?;
//!
//! let creds = vault.get("qad/acme")?;
//! assert_eq!(creds.require("username")?.expose_secret(), "svc_integration@acme.com");
//! assert!(!format!("{creds:?}").contains("correct horse"));
//! # Ok::<(), ml_connector::Error>(())
//! ```
//!
//! See `docs/vault.md` for key handling, rotation and the threat model.

mod envelope;
mod key;
mod store;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

pub use key::{KEY_LEN, MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, MasterKey};
pub use store::{FileStore, MemoryStore, VaultStore};

use crate::error::{Error, Result};

// The examples in docs/vault.md are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/vault.md")]
struct VaultGuideExamples;

/// Environment variable naming the vault file used by [`Vault::from_env`].
pub const VAULT_PATH_ENV: &str = "ML_CONNECTOR_VAULT_PATH";

/// Longest accepted credential id, in bytes.
pub const MAX_ID_LEN: usize = 200;

/// A named set of secrets. Values are [`SecretString`]s; `Debug` and `Display` show the field
/// names and `[REDACTED]` for every value.
#[derive(Clone, Default)]
pub struct CredentialSet {
    id: Option<String>,
    fields: BTreeMap<String, SecretString>,
}

impl CredentialSet {
    /// An empty set, not yet stored under an id.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a field, builder style.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.insert(name, value);
        self
    }

    /// Labels the set with the credential id used in error messages. [`Vault::get`] sets it.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds (or replaces) a field, returning the previous value.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<SecretString>,
    ) -> Option<SecretString> {
        self.fields.insert(name.into(), value.into())
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<SecretString> {
        self.fields.remove(name)
    }

    /// The credential id this set was loaded from (or labelled with).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The value of field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.fields.get(name)
    }

    /// The value of field `name`; a missing or empty field is an [`Error::Vault`] naming the
    /// credential id and the field.
    pub fn require(&self, name: &str) -> Result<&SecretString> {
        match self.fields.get(name) {
            Some(v) if !v.expose_secret().is_empty() => Ok(v),
            found => {
                let id = self.id.as_deref().unwrap_or("(unsaved)");
                let state = if found.is_some() { "empty" } else { "missing" };
                let have: Vec<&str> = self.names().collect();
                Err(Error::Vault {
                    message: format!(
                        "credential set `{id}`: field `{name}` is {state} (fields present: \
                         [{}]); store the set again with `{name}` filled in",
                        have.join(", ")
                    ),
                })
            }
        }
    }

    /// The field names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// `true` when the set has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn to_plaintext(&self) -> Result<Zeroizing<Vec<u8>>> {
        let map: BTreeMap<&str, &str> = self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        // Reserve generously up front so serialisation does not reallocate and leave copies.
        let estimate: usize = map.iter().map(|(k, v)| 2 * (k.len() + v.len()) + 8).sum();
        let mut buf = Zeroizing::new(Vec::with_capacity(estimate + 16));
        serde_json::to_writer(&mut *buf, &map).map_err(|_| Error::Vault {
            message: "cannot encode the credential set".into(),
        })?;
        Ok(buf)
    }

    fn from_plaintext(id: &str, plain: &[u8]) -> Result<Self> {
        let fields: BTreeMap<String, SecretString> =
            serde_json::from_slice(plain).map_err(|e| Error::Vault {
                // Only the position: serde's message may quote part of the content.
                message: format!(
                    "credential `{id}`: the decrypted content is not a credential set \
                     (line {}, column {}); store the credential again",
                    e.line(),
                    e.column()
                ),
            })?;
        Ok(Self {
            id: Some(id.to_owned()),
            fields,
        })
    }
}

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: BTreeMap<&str, fmt::Arguments<'_>> = self
            .names()
            .map(|n| (n, format_args!("[REDACTED]")))
            .collect();
        f.debug_struct("CredentialSet")
            .field("id", &self.id)
            .field("fields", &fields)
            .finish()
    }
}

impl fmt::Display for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id.as_deref().unwrap_or("(unsaved)"))?;
        f.write_str(" {")?;
        for (i, name) in self.names().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep} {name}=[REDACTED]")?;
        }
        f.write_str(" }")
    }
}

fn check_id(id: &str) -> Result<()> {
    let problem = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > MAX_ID_LEN {
        Some("it is longer than 200 bytes")
    } else if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Some("it contains whitespace or control characters")
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::Vault {
            message: format!(
                "invalid credential id {:?}: {p}; use a short path such as `qad/acme`",
                id.chars().take(MAX_ID_LEN).collect::<String>()
            ),
        }),
        None => Ok(()),
    }
}

/// Credential sets sealed under a master key in a [`VaultStore`]. `Send + Sync`; share it in an
/// `Arc`.
pub struct Vault {
    key: MasterKey,
    store: Arc<dyn VaultStore>,
}

impl Vault {
    /// A vault over `store`, sealing and opening with `key`.
    pub fn new(key: MasterKey, store: Arc<dyn VaultStore>) -> Self {
        Self { key, store }
    }

    /// A vault in memory (tests, quick starts).
    pub fn in_memory(key: MasterKey) -> Self {
        Self::new(key, Arc::new(MemoryStore::new()))
    }

    /// A vault in the JSON file at `path` (created on the first write).
    pub fn open_file(key: MasterKey, path: impl Into<PathBuf>) -> Self {
        Self::new(key, Arc::new(FileStore::new(path)))
    }

    /// The vault configured by the environment: the master key from [`MASTER_KEY_ENV`] or
    /// [`MASTER_KEY_FILE_ENV`], the file from [`VAULT_PATH_ENV`].
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into()))
    }

    /// As [`Vault::from_env`], with variables looked up through `lookup`.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let key = MasterKey::from_env_with(&lookup)?;
        match lookup(VAULT_PATH_ENV) {
            Some(path) if !path.trim().is_empty() => Ok(Self::open_file(key, path.trim())),
            _ => Err(Error::config(
                VAULT_PATH_ENV,
                "not set; set it to the vault file path, e.g. /var/lib/ml-connector/vault.json \
                 (its directory must exist)",
            )),
        }
    }

    /// The id of the master key in use.
    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn VaultStore> {
        &self.store
    }

    /// Seals `set` and stores it under `id`, replacing any previous set.
    pub fn put(&self, id: &str, set: &CredentialSet) -> Result<()> {
        check_id(id)?;
        let plain = set.to_plaintext()?;
        let sealed = envelope::seal(&self.key, id, &plain)?;
        self.store.put(id, &sealed)
    }

    /// Opens the set stored under `id`. An unknown id, a wrong master key or a damaged or moved
    /// envelope is an [`Error::Vault`].
    pub fn get(&self, id: &str) -> Result<CredentialSet> {
        check_id(id)?;
        let sealed = self.store.get(id)?.ok_or_else(|| Error::Vault {
            message: format!(
                "no credential set `{id}` in vault {}; store it with Vault::put (stored ids: \
                 see Vault::list)",
                self.store.location()
            ),
        })?;
        let plain = envelope::open(&self.key, id, &sealed)?;
        CredentialSet::from_plaintext(id, &plain)
    }

    /// Removes the set stored under `id`; `true` when it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        check_id(id)?;
        self.store.delete(id)
    }

    /// Every stored credential id, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        self.store.list()
    }

    /// Ids whose envelope was not sealed under the current master key (left from an old key,
    /// or sealed by another vault).
    pub fn stale_ids(&self) -> Result<Vec<String>> {
        let mut stale = Vec::new();
        for id in self.store.list()? {
            let Some(sealed) = self.store.get(&id)? else {
                continue; // deleted meanwhile
            };
            if envelope::key_id(&sealed) != Some(self.key.id()) {
                stale.push(id);
            }
        }
        Ok(stale)
    }

    /// Re-encrypts every entry under `new_key` and switches the vault to it. The current key
    /// must open every entry; entries already under `new_key` (an interrupted earlier rotation)
    /// are checked and kept. Everything is opened before anything is written, and the
    /// [`FileStore`] writes all entries in one atomic replace. Returns how many entries were
    /// re-encrypted. After this, the old key opens nothing.
    pub fn rotate(&mut self, new_key: MasterKey) -> Result<usize> {
        if new_key.id() == self.key.id() {
            return Err(Error::Vault {
                message: format!(
                    "rotation: the new master key is the current key (id {}); generate a new \
                     key with MasterKey::generate or `openssl rand -base64 32`",
                    self.key.id()
                ),
            });
        }
        let mut resealed = Vec::new();
        for id in self.store.list()? {
            let Some(sealed) = self.store.get(&id)? else {
                continue;
            };
            if envelope::key_id(&sealed) == Some(new_key.id()) {
                envelope::open(&new_key, &id, &sealed)?;
                continue;
            }
            let plain = envelope::open(&self.key, &id, &sealed).map_err(|e| Error::Vault {
                message: format!("rotation aborted, nothing was changed: {e}"),
            })?;
            resealed.push((id.clone(), envelope::seal(&new_key, &id, &plain)?));
        }
        self.store.put_all(&resealed)?;
        self.key = new_key;
        Ok(resealed.len())
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("key_id", &self.key.id())
            .field("store", &self.store.location())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_names_id_and_field_and_treats_empty_as_missing() {
        let set = CredentialSet::new()
            .with("username", "svc")
            .with("password", "")
            .with_id("qad/acme");
        assert_eq!(set.require("username").unwrap().expose_secret(), "svc");
        let missing = set.require("client_id").unwrap_err().to_string();
        assert!(missing.contains("qad/acme") && missing.contains("`client_id` is missing"));
        let empty = set.require("password").unwrap_err().to_string();
        assert!(empty.contains("`password` is empty"), "{empty}");
    }

    #[test]
    fn ids_are_validated() {
        for bad in ["", "qad acme", "a\nb", &"x".repeat(MAX_ID_LEN + 1)] {
            let err = check_id(bad).unwrap_err();
            assert!(err.to_string().contains("invalid credential id"), "{err}");
        }
        check_id("amazon/eu-seller1").unwrap();
    }

    #[test]
    fn plaintext_round_trips_with_escapes() {
        let set = CredentialSet::new()
            .with("password", "quote\" back\\slash ünïcode \u{1}")
            .with("token", "Atzr|abc");
        let plain = set.to_plaintext().unwrap();
        let back = CredentialSet::from_plaintext("x", &plain).unwrap();
        assert_eq!(
            back.get("password").unwrap().expose_secret(),
            "quote\" back\\slash ünïcode \u{1}"
        );
        assert_eq!(back.id(), Some("x"));
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn vault_is_send_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Vault>();
        assert::<CredentialSet>();
        assert::<MasterKey>();
    }
}
