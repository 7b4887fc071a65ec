//! Where sealed envelopes live: [`VaultStore`], with an in-memory and a file backend.
//!
//! Stores only ever see sealed envelopes (ASCII strings such as `v1:<key id>:<nonce>:<ct>`);
//! plaintext never reaches them. The API is synchronous: it is small local I/O done at start-up
//! or on rotation. From async code, call it directly for the memory store, or through
//! `tokio::task::spawn_blocking` if a slow disk matters.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Storage of sealed envelopes by credential id. Object safe, `Send + Sync`.
pub trait VaultStore: Send + Sync {
    /// The envelope stored under `id`, if any.
    fn get(&self, id: &str) -> Result<Option<String>>;
    /// Stores (or replaces) the envelope under `id`.
    fn put(&self, id: &str, sealed: &str) -> Result<()>;
    /// Removes `id`; `true` when it existed.
    fn delete(&self, id: &str) -> Result<bool>;
    /// Every stored id, sorted.
    fn list(&self) -> Result<Vec<String>>;
    /// Replaces several envelopes at once (used by rotation). The default stores them one by
    /// one; backends that can, do it atomically.
    fn put_all(&self, entries: &[(String, String)]) -> Result<()> {
        entries
            .iter()
            .try_for_each(|(id, sealed)| self.put(id, sealed))
    }
    /// Where the envelopes live, for error messages (`memory`, a file path).
    fn location(&self) -> String;
}

fn poisoned() -> Error {
    Error::Vault {
        message: "the vault store lock was poisoned by a panicking thread; restart the process"
            .into(),
    }
}

/// Envelopes in a map in memory: for tests and short-lived hosts.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl VaultStore for MemoryStore {
    fn get(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .entries
            .lock()
            .map_err(|_| poisoned())?
            .get(id)
            .cloned())
    }
    fn put(&self, id: &str, sealed: &str) -> Result<()> {
        let mut entries = self.entries.lock().map_err(|_| poisoned())?;
        entries.insert(id.to_owned(), sealed.to_owned());
        Ok(())
    }
    fn delete(&self, id: &str) -> Result<bool> {
        Ok(self
            .entries
            .lock()
            .map_err(|_| poisoned())?
            .remove(id)
            .is_some())
    }
    fn list(&self) -> Result<Vec<String>> {
        Ok(self
            .entries
            .lock()
            .map_err(|_| poisoned())?
            .keys()
            .cloned()
            .collect())
    }
    fn put_all(&self, entries: &[(String, String)]) -> Result<()> {
        let mut map = self.entries.lock().map_err(|_| poisoned())?;
        for (id, sealed) in entries {
            map.insert(id.clone(), sealed.clone());
        }
        Ok(())
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct VaultFile {
    format: String,
    version: u32,
    entries: BTreeMap<String, String>,
}

const FILE_FORMAT: &str = "ml-connector-vault";

/// All envelopes in one JSON file:
/// `{"format":"ml-connector-vault","version":1,"entries":{"<id>":"v1:…"}}`.
///
/// Every change rewrites the file through a temporary file in the same directory, `fsync` and
/// `rename`, so a crash leaves the old or the new file, never half of one; rotation replaces all
/// entries in one such write. On unix the file is created with mode 0600. Writers in one process
/// are serialised; several processes writing the same file concurrently may lose each other's
/// updates (keep one writer, e.g. the admin tool).
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    /// A store at `path`; the file is created on the first write (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::Vault {
            message: format!(
                "cannot {what} vault file {}: {e}; check that the directory exists and this \
                 user may read and write it",
                self.path.display()
            ),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, String>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(self.io_error("read", e)),
        };
        let file: VaultFile = serde_json::from_str(&text).map_err(|e| Error::Vault {
            message: format!(
                "vault file {} is not a valid vault ({e}); restore it from a backup",
                self.path.display()
            ),
        })?;
        if file.format != FILE_FORMAT || file.version != 1 {
            return Err(Error::Vault {
                message: format!(
                    "vault file {} has format `{}` version {}, expected `{FILE_FORMAT}` version \
                     1; point the vault at the right file or upgrade ml-connector",
                    self.path.display(),
                    file.format,
                    file.version
                ),
            });
        }
        Ok(file.entries)
    }

    fn save(&self, entries: BTreeMap<String, String>) -> Result<()> {
        let body = serde_json::to_vec_pretty(&VaultFile {
            format: FILE_FORMAT.into(),
            version: 1,
            entries,
        })
        .map_err(|e| Error::Vault {
            message: format!("cannot encode vault file: {e}"),
        })?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "vault".into());
        let tmp = dir.join(format!(
            ".{name}.{}.{:016x}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut f| {
            f.write_all(&body)?;
            f.write_all(b"\n")?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &self.path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io_error("write", e));
        }
        // Persist the rename itself; not every platform can open a directory, so best effort.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn update(&self, change: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<()> {
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        let mut entries = self.load()?;
        change(&mut entries);
        self.save(entries)
    }
}

impl VaultStore for FileStore {
    fn get(&self, id: &str) -> Result<Option<String>> {
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        Ok(self.load()?.remove(id))
    }
    fn put(&self, id: &str, sealed: &str) -> Result<()> {
        self.update(|e| {
            e.insert(id.to_owned(), sealed.to_owned());
        })
    }
    fn delete(&self, id: &str) -> Result<bool> {
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        let mut entries = self.load()?;
        if entries.remove(id).is_none() {
            return Ok(false);
        }
        self.save(entries)?;
        Ok(true)
    }
    fn list(&self) -> Result<Vec<String>> {
        let _guard = self.lock.lock().map_err(|_| poisoned())?;
        Ok(self.load()?.into_keys().collect())
    }
    fn put_all(&self, entries: &[(String, String)]) -> Result<()> {
        self.update(|map| {
            for (id, sealed) in entries {
                map.insert(id.clone(), sealed.clone());
            }
        })
    }
    fn location(&self) -> String {
        self.path.display().to_string()
    }
}
