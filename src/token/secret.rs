//! The shared secret: 32 random bytes kept as one base64 line in a 0600 file, zeroized when dropped, never
//! printed by `Debug`; and the atomic private-file write it (and saved tokens) are written with.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::EncodingKey;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("shared secret in {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("shared secret file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The server's 32-byte HS256 key; zeroized on drop, never printed by `Debug`. The HMAC key schedule is made
/// once, not per verified token.
#[derive(Clone)]
pub struct SharedSecret {
    bytes: Zeroizing<[u8; 32]>,
    /// The key schedule is over a kilobyte: shared, not copied with every clone.
    hmac: Arc<hmac::Key>,
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(…)")
    }
}

impl SharedSecret {
    pub fn generate() -> SharedSecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .expect("the operating system's random source is unavailable");
        SharedSecret::from_zeroizing(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> SharedSecret {
        SharedSecret::from_zeroizing(Zeroizing::new(bytes))
    }

    fn from_zeroizing(bytes: Zeroizing<[u8; 32]>) -> SharedSecret {
        let hmac = Arc::new(hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref()));
        SharedSecret { bytes, hmac }
    }

    /// Whether `tag` is the HS256 signature of `message` under this secret, compared in constant time.
    pub(super) fn verifies(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.hmac, message, tag).is_ok()
    }

    /// Standard base64 of exactly 32 bytes (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<SharedSecret, String> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|e| format!("not standard base64 ({e})"))?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "decodes to {} bytes; exactly 32 bytes are required",
                decoded.len()
            )
        })?;
        Ok(SharedSecret::from_bytes(bytes))
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// A short public name for this secret (an HMAC of a fixed text under it, so it reveals nothing of the key):
    /// what a shared database records to refuse replicas started with another secret.
    pub fn fingerprint(&self) -> String {
        let signature = jsonwebtoken::crypto::sign(
            b"sacon shared secret fingerprint v1",
            &self.encoding_key(),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap_or_default();
        signature.chars().take(16).collect()
    }

    pub fn load(path: &Path) -> Result<SharedSecret, SecretError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| SecretError::Io {
                    path: path.display().to_string(),
                    source,
                })?,
            );
        SharedSecret::from_base64(&text).map_err(|reason| SecretError::Invalid {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Loads the secret at `path`, or creates it (one base64 line, mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SharedSecret, SecretError> {
        if path.exists() {
            return SharedSecret::load(path);
        }
        let secret = SharedSecret::generate();
        let io = |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut line = secret.to_base64();
        line.push('\n');
        write_private_file(path, line.as_bytes()).map_err(io)?;
        Ok(secret)
    }

    pub(super) fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_secret(self.bytes.as_ref())
    }
}

/// Creates `path` with mode 0600 and `contents`, failing if it exists; written to a temporary file in the
/// same directory first and renamed into place, so a crash never leaves half a file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        // A hard link fails if `path` exists, so a file created meanwhile is never replaced.
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::SharedSecret;

    #[test]
    fn a_fingerprint_names_one_secret_and_shows_none_of_it() {
        let a = SharedSecret::from_bytes([7; 32]);
        let b = SharedSecret::from_bytes([8; 32]);
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
        assert!(!a.to_base64().contains(&a.fingerprint()));
    }
}
