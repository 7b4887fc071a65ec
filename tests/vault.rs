//! Credential vault: sealing, tamper/wrong-key/id-swap detection, rotation, key loading,
//! file backend hygiene and redaction.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ml_connector::Error;
use ml_connector::vault::{
    CredentialSet, FileStore, MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, MasterKey, MemoryStore,
    VAULT_PATH_ENV, Vault, VaultStore,
};
use secrecy::ExposeSecret;

const PASSWORD: &str = "Hunter2-Pa55word-7c1e";
const LWA_SECRET: &str = "amzn1.oa2-cs.v1.9f2b0d5e3a";
const REFRESH: &str = "Atzr|IwEBIRefreshTokenValue42";

fn qad() -> CredentialSet {
    CredentialSet::new()
        .with("client_id", "connector-client")
        .with("username", "svc_integration@acme.com")
        .with("password", PASSWORD)
}

fn amazon() -> CredentialSet {
    CredentialSet::new()
        .with("lwa_client_id", "amzn1.application-oa2-client.abc")
        .with("lwa_client_secret", LWA_SECRET)
        .with("refresh_token", REFRESH)
}

fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |name| map.get(name).cloned()
}

fn assert_vault_err(result: Result<CredentialSet, Error>, needle: &str) -> String {
    let err = result.expect_err("must not open");
    assert!(
        matches!(err, Error::Vault { .. }),
        "not a vault error: {err}"
    );
    let text = err.to_string();
    assert!(text.contains(needle), "`{needle}` not in: {text}");
    for secret in [PASSWORD, LWA_SECRET, REFRESH] {
        assert!(!text.contains(secret), "secret in error: {text}");
    }
    text
}

/// Flips one bit of byte `index` of the decoded ciphertext (the last `:` field).
fn flip_ciphertext_byte(sealed: &str, index: usize) -> String {
    let (head, ct) = sealed.rsplit_once(':').unwrap();
    let mut bytes = B64.decode(ct).unwrap();
    let i = index.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    format!("{head}:{}", B64.encode(bytes))
}

#[test]
fn round_trip_in_memory_and_on_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let vaults = [
        Vault::in_memory(MasterKey::from_base64(key.to_base64().expose_secret(), "t").unwrap()),
        Vault::open_file(key, dir.path().join("vault.json")),
    ];
    for vault in vaults {
        vault.put("qad/acme", &qad()).unwrap();
        vault.put("amazon/eu-seller1", &amazon()).unwrap();
        assert_eq!(vault.list().unwrap(), ["amazon/eu-seller1", "qad/acme"]);

        let got = vault.get("qad/acme").unwrap();
        assert_eq!(got.id(), Some("qad/acme"));
        assert_eq!(got.require("password").unwrap().expose_secret(), PASSWORD);
        assert_eq!(
            got.names().collect::<Vec<_>>(),
            ["client_id", "password", "username"]
        );
        let amz = vault.get("amazon/eu-seller1").unwrap();
        assert_eq!(
            amz.require("refresh_token").unwrap().expose_secret(),
            REFRESH
        );

        // Replace, then delete.
        vault
            .put("qad/acme", &qad().with("password", "rotated-pw"))
            .unwrap();
        let got = vault.get("qad/acme").unwrap();
        assert_eq!(got.get("password").unwrap().expose_secret(), "rotated-pw");
        assert!(vault.delete("qad/acme").unwrap());
        assert!(!vault.delete("qad/acme").unwrap());
        let text = assert_vault_err(vault.get("qad/acme"), "no credential set `qad/acme`");
        assert!(text.contains("Vault::put"), "{text}");
        assert_eq!(vault.list().unwrap(), ["amazon/eu-seller1"]);
    }
}

#[test]
fn flipping_any_ciphertext_or_nonce_byte_is_an_error_never_garbage() {
    let store = Arc::new(MemoryStore::new());
    let vault = Vault::new(MasterKey::generate(), store.clone());
    vault.put("qad/acme", &qad()).unwrap();
    let sealed = store.get("qad/acme").unwrap().unwrap();
    let ct_len = B64
        .decode(sealed.rsplit_once(':').unwrap().1)
        .unwrap()
        .len();

    for index in [0, 1, ct_len / 2, ct_len - 17, ct_len - 16, ct_len - 1] {
        store
            .put("qad/acme", &flip_ciphertext_byte(&sealed, index))
            .unwrap();
        assert_vault_err(vault.get("qad/acme"), "failed authentication");
    }

    // Flip a nonce byte.
    let parts: Vec<&str> = sealed.split(':').collect();
    let mut nonce = B64.decode(parts[2]).unwrap();
    nonce[5] ^= 0x80;
    let forged = format!(
        "{}:{}:{}:{}",
        parts[0],
        parts[1],
        B64.encode(nonce),
        parts[3]
    );
    store.put("qad/acme", &forged).unwrap();
    assert_vault_err(vault.get("qad/acme"), "failed authentication");

    // Damage to the envelope text itself.
    store
        .put("qad/acme", &sealed.replacen("v1:", "v1;", 1))
        .unwrap();
    assert_vault_err(vault.get("qad/acme"), "malformed");

    // The untouched envelope still opens.
    store.put("qad/acme", &sealed).unwrap();
    assert!(vault.get("qad/acme").is_ok());
}

#[test]
fn wrong_master_key_is_an_error_even_with_a_forged_key_id() {
    let store = Arc::new(MemoryStore::new());
    let right = Vault::new(MasterKey::generate(), store.clone());
    right.put("qad/acme", &qad()).unwrap();

    let wrong = Vault::new(MasterKey::generate(), store.clone());
    let text = assert_vault_err(wrong.get("qad/acme"), "is sealed under master key id");
    assert!(text.contains(right.key_id()) && text.contains(wrong.key_id()));
    assert_eq!(wrong.stale_ids().unwrap(), ["qad/acme"]);
    assert!(right.stale_ids().unwrap().is_empty());

    // Rewriting the recorded key id does not help: authentication still fails.
    let sealed = store.get("qad/acme").unwrap().unwrap();
    store
        .put(
            "qad/acme",
            &sealed.replacen(right.key_id(), wrong.key_id(), 1),
        )
        .unwrap();
    assert_vault_err(wrong.get("qad/acme"), "failed authentication");
}

#[test]
fn envelope_moved_to_another_id_fails_authentication() {
    let store = Arc::new(MemoryStore::new());
    let vault = Vault::new(MasterKey::generate(), store.clone());
    vault.put("qad/acme", &qad()).unwrap();
    vault.put("amazon/eu-seller1", &amazon()).unwrap();

    let qad_blob = store.get("qad/acme").unwrap().unwrap();
    let amazon_blob = store.get("amazon/eu-seller1").unwrap().unwrap();
    store.put("amazon/eu-seller1", &qad_blob).unwrap();
    store.put("qad/other", &qad_blob).unwrap();
    assert_vault_err(vault.get("amazon/eu-seller1"), "failed authentication");
    assert_vault_err(vault.get("qad/other"), "failed authentication");

    store.put("amazon/eu-seller1", &amazon_blob).unwrap();
    assert!(vault.get("amazon/eu-seller1").is_ok());
}

#[test]
fn rotation_reencrypts_everything_and_the_old_key_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let old = MasterKey::generate();
    let old_b64 = old.to_base64().expose_secret().to_owned();
    let mut vault = Vault::open_file(old, &path);
    let ids = ["amazon/eu-seller1", "amazon/us-seller2", "qad/acme"];
    vault.put(ids[0], &amazon()).unwrap();
    vault
        .put(ids[1], &amazon().with("refresh_token", "Atzr|second"))
        .unwrap();
    vault.put(ids[2], &qad()).unwrap();
    let old_id = vault.key_id().to_owned();
    let before = std::fs::read_to_string(&path).unwrap();

    let new = MasterKey::generate();
    let new_id = new.id().to_owned();
    assert_eq!(vault.rotate(new).unwrap(), 3);
    assert_eq!(vault.key_id(), new_id);

    let after = std::fs::read_to_string(&path).unwrap();
    assert_ne!(before, after);
    assert!(!after.contains(&old_id), "old key id left in {after}");
    assert_eq!(after.matches(&format!("v1:{new_id}:")).count(), 3);
    assert!(vault.stale_ids().unwrap().is_empty());
    assert_eq!(
        vault
            .get(ids[1])
            .unwrap()
            .require("refresh_token")
            .unwrap()
            .expose_secret(),
        "Atzr|second"
    );
    assert_eq!(
        vault
            .get(ids[2])
            .unwrap()
            .require("password")
            .unwrap()
            .expose_secret(),
        PASSWORD
    );

    let with_old = Vault::open_file(MasterKey::from_base64(&old_b64, "old").unwrap(), &path);
    for id in ids {
        assert_vault_err(with_old.get(id), "is sealed under master key id");
    }
    assert_eq!(with_old.stale_ids().unwrap(), ids);
}

#[test]
fn rotation_to_the_current_key_is_refused() {
    let key = MasterKey::generate();
    let copy = MasterKey::from_base64(key.to_base64().expose_secret(), "copy").unwrap();
    let mut vault = Vault::in_memory(key);
    vault.put("qad/acme", &qad()).unwrap();
    let err = vault.rotate(copy).unwrap_err();
    assert!(matches!(err, Error::Vault { .. }));
    assert!(err.to_string().contains("is the current key"), "{err}");
}

#[test]
fn rotation_aborts_without_change_on_a_foreign_entry_and_resumes_a_partial_one() {
    let store = Arc::new(MemoryStore::new());
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let new_b64 = new.to_base64().expose_secret().to_owned();
    let mut vault = Vault::new(old, store.clone());
    vault.put("qad/acme", &qad()).unwrap();

    // An entry sealed under a third key: rotation must refuse and change nothing.
    Vault::new(MasterKey::generate(), store.clone())
        .put("qad/foreign", &qad())
        .unwrap();
    let before = store.get("qad/acme").unwrap();
    let err = vault
        .rotate(MasterKey::from_base64(&new_b64, "new").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("rotation aborted"), "{err}");
    assert!(err.to_string().contains("qad/foreign"), "{err}");
    assert_eq!(store.get("qad/acme").unwrap(), before);
    assert!(
        vault.get("qad/acme").is_ok(),
        "vault still uses the old key"
    );
    store.delete("qad/foreign").unwrap();

    // An entry already under the new key (an interrupted rotation) is kept as is.
    Vault::new(
        MasterKey::from_base64(&new_b64, "new").unwrap(),
        store.clone(),
    )
    .put("amazon/eu-seller1", &amazon())
    .unwrap();
    let already = store.get("amazon/eu-seller1").unwrap();
    assert_eq!(vault.rotate(new).unwrap(), 1);
    assert_eq!(store.get("amazon/eu-seller1").unwrap(), already);
    assert!(vault.get("amazon/eu-seller1").is_ok());
    assert!(vault.get("qad/acme").is_ok());
}

#[test]
fn file_backend_never_holds_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let vault = Vault::open_file(MasterKey::generate(), &path);
    vault.put("qad/acme", &qad()).unwrap();
    vault.put("amazon/eu-seller1", &amazon()).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for needle in [
        PASSWORD,
        LWA_SECRET,
        REFRESH,
        "svc_integration@acme.com",
        "connector-client",
        "lwa_client_secret",
        "password",
    ] {
        assert!(!text.contains(needle), "`{needle}` on disk: {text}");
        let upper = needle.as_bytes();
        assert!(
            !bytes.windows(upper.len()).any(|w| w == upper),
            "`{needle}` bytes on disk"
        );
    }
    // The ids are visible (they are not secret); the values are sealed envelopes.
    assert!(text.contains("\"qad/acme\": \"v1:"), "{text}");
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["vault.json"]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "vault file mode {mode:o}");
    }

    // A second vault over the same file sees the same entries.
    let again = FileStore::new(&path);
    assert_eq!(again.list().unwrap(), ["amazon/eu-seller1", "qad/acme"]);
}

#[test]
fn concurrent_writers_in_one_process_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(Vault::open_file(
        MasterKey::generate(),
        dir.path().join("vault.json"),
    ));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let vault = vault.clone();
            std::thread::spawn(move || vault.put(&format!("amazon/seller{i}"), &amazon()).unwrap())
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(vault.list().unwrap().len(), 8);
}

#[test]
fn a_corrupt_vault_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    std::fs::write(&path, "{ not json").unwrap();
    let vault = Vault::open_file(MasterKey::generate(), &path);
    let text = assert_vault_err(vault.get("qad/acme"), "is not a valid vault");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn master_key_from_env_variable() {
    let key = MasterKey::generate();
    let b64 = key.to_base64().expose_secret().to_owned();
    let loaded = MasterKey::from_env_with(lookup(&[(MASTER_KEY_ENV, format!("{b64}\n"))])).unwrap();
    assert_eq!(loaded.id(), key.id());

    // The variable wins over the file variable.
    let loaded = MasterKey::from_env_with(lookup(&[
        (MASTER_KEY_ENV, b64.clone()),
        (MASTER_KEY_FILE_ENV, "/nonexistent/key".into()),
    ]))
    .unwrap();
    assert_eq!(loaded.id(), key.id());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let vault = Vault::from_env_with(lookup(&[
        (MASTER_KEY_ENV, b64.clone()),
        (VAULT_PATH_ENV, path.display().to_string()),
    ]))
    .unwrap();
    vault.put("qad/acme", &qad()).unwrap();
    assert!(path.exists());
    assert_eq!(vault.key_id(), key.id());
}

#[test]
fn bad_env_keys_name_the_variable_and_the_fix_without_echoing_the_value() {
    let short = base64::engine::general_purpose::STANDARD.encode(b"sixteen-byte-key");
    let cases = [
        (short.clone(), "16 bytes long but must be exactly 32"),
        ("not*base64*at*all*Hunter2".to_owned(), "not valid base64"),
        ("   ".to_owned(), "is empty"),
    ];
    for (value, needle) in cases {
        let err = MasterKey::from_env_with(lookup(&[(MASTER_KEY_ENV, value.clone())])).unwrap_err();
        assert!(matches!(err, Error::Config { .. }));
        let text = err.to_string();
        assert!(text.contains(MASTER_KEY_ENV), "{text}");
        assert!(text.contains(needle), "{text}");
        assert!(text.contains("openssl rand -base64 32"), "{text}");
        if !value.trim().is_empty() {
            assert!(!text.contains(value.trim()), "value echoed: {text}");
        }
    }

    let err = MasterKey::from_env_with(lookup(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(MASTER_KEY_ENV) && err.contains(MASTER_KEY_FILE_ENV),
        "{err}"
    );
    let err = Vault::from_env_with(lookup(&[(
        MASTER_KEY_ENV,
        MasterKey::generate().to_base64().expose_secret().to_owned(),
    )]))
    .unwrap_err()
    .to_string();
    assert!(err.contains(VAULT_PATH_ENV), "{err}");
}

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn master_key_from_key_file_base64_raw_and_generated() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();

    let b64_path = dir.path().join("master.b64");
    std::fs::write(&b64_path, format!("{}\n", key.to_base64().expose_secret())).unwrap();
    #[cfg(unix)]
    chmod(&b64_path, 0o600);
    assert_eq!(MasterKey::from_file(&b64_path).unwrap().id(), key.id());
    let via_env = MasterKey::from_env_with(lookup(&[(
        MASTER_KEY_FILE_ENV,
        b64_path.display().to_string(),
    )]))
    .unwrap();
    assert_eq!(via_env.id(), key.id());

    let raw_path = dir.path().join("master.raw");
    let raw = [0xA5u8; 32];
    std::fs::write(&raw_path, raw).unwrap();
    #[cfg(unix)]
    chmod(&raw_path, 0o400);
    assert_eq!(
        MasterKey::from_file(&raw_path).unwrap().id(),
        MasterKey::from_bytes(raw).id()
    );

    let gen_path = dir.path().join("generated.key");
    let generated = MasterKey::generate_key_file(&gen_path).unwrap();
    assert_eq!(
        MasterKey::from_file(&gen_path).unwrap().id(),
        generated.id()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&gen_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let err = MasterKey::generate_key_file(&gen_path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist yet"), "{err}");
    assert_eq!(
        MasterKey::from_file(&gen_path).unwrap().id(),
        generated.id()
    );
}

#[test]
fn bad_key_files_name_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();

    let short = dir.path().join("short.key");
    std::fs::write(&short, [1u8; 20]).unwrap();
    #[cfg(unix)]
    chmod(&short, 0o600);
    let err = MasterKey::from_file(&short).unwrap_err().to_string();
    assert!(err.contains(&short.display().to_string()), "{err}");
    assert!(
        err.contains("exactly 32 raw bytes or the key in base64"),
        "{err}"
    );

    let missing = dir.path().join("missing.key");
    let err = MasterKey::from_file(&missing).unwrap_err().to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");

    #[cfg(unix)]
    {
        let open = dir.path().join("open.key");
        std::fs::write(&open, MasterKey::generate().to_base64().expose_secret()).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            chmod(&open, mode);
            let err = MasterKey::from_file(&open).unwrap_err();
            assert!(matches!(err, Error::Config { .. }));
            let text = err.to_string();
            assert!(text.contains(&open.display().to_string()), "{text}");
            assert!(
                text.contains(&format!("chmod 600 {}", open.display())),
                "{text}"
            );
        }
    }
}

#[test]
fn no_secret_in_debug_display_or_errors() {
    let key = MasterKey::generate();
    let key_b64 = key.to_base64().expose_secret().to_owned();
    let key_id = key.id().to_owned();
    let store = Arc::new(MemoryStore::new());
    let vault = Vault::new(key, store.clone());
    vault.put("amazon/eu-seller1", &amazon()).unwrap();
    let set = vault.get("amazon/eu-seller1").unwrap();
    let raw_key = MasterKey::from_base64(&key_b64, "k").unwrap();

    let mut texts = vec![
        format!("{set:?}"),
        format!("{set:#?}"),
        format!("{set}"),
        format!("{:?}", amazon()),
        format!("{}", amazon()),
        format!("{:?}", set.get("refresh_token").unwrap()),
        format!("{vault:?}"),
        format!("{raw_key:?}"),
        format!("{:?}", raw_key.to_base64()),
        format!("{store:?}"),
        set.require("missing_field").unwrap_err().to_string(),
        format!("{:?}", set.require("missing_field").unwrap_err()),
        format!(
            "{:?}",
            Vault::new(MasterKey::generate(), store.clone())
                .get("amazon/eu-seller1")
                .unwrap_err()
        ),
    ];
    let sealed = store.get("amazon/eu-seller1").unwrap().unwrap();
    store
        .put("amazon/eu-seller1", &flip_ciphertext_byte(&sealed, 3))
        .unwrap();
    texts.push(format!("{:?}", vault.get("amazon/eu-seller1").unwrap_err()));
    texts.push(
        MasterKey::from_base64(&key_b64[..40], MASTER_KEY_ENV)
            .unwrap_err()
            .to_string(),
    );

    assert!(texts[0].contains("[REDACTED]") && texts[0].contains("refresh_token"));
    assert!(texts[2].contains("amazon/eu-seller1") && texts[2].contains("[REDACTED]"));
    assert!(texts[7].contains(&key_id) && texts[7].contains("[REDACTED]"));
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(&key_b64)
        .unwrap();
    let key_array_debug = format!("{key_bytes:?}");
    for text in &texts {
        for secret in [LWA_SECRET, REFRESH, "amzn1.application-oa2-client.abc"] {
            assert!(!text.contains(secret), "secret `{secret}` in: {text}");
        }
        assert!(!text.contains(&key_b64[..20]), "master key in: {text}");
        assert!(
            !text.contains(&key_array_debug[1..40]),
            "key bytes in: {text}"
        );
    }
}

#[test]
fn stores_compose_as_trait_objects() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn VaultStore>> = vec![
        Arc::new(MemoryStore::new()),
        Arc::new(FileStore::new(dir.path().join("v.json"))),
    ];
    for store in stores {
        store
            .put_all(&[
                ("a".into(), "v1:x:y:z".into()),
                ("b".into(), "v1:x:y:z".into()),
            ])
            .unwrap();
        assert_eq!(store.list().unwrap(), ["a", "b"]);
        assert_eq!(store.get("a").unwrap().as_deref(), Some("v1:x:y:z"));
        assert!(store.delete("a").unwrap());
        assert_eq!(store.get("a").unwrap(), None);
        assert!(!store.location().is_empty());
    }
}
