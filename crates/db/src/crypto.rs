//! Secrets at rest.
//!
//! - keyCRM API keys and webhook tokens are encrypted with AES-256-GCM under the master key
//!   from settings, with the account id (and purpose) as associated data, so a ciphertext
//!   copied to another account's row does not decrypt.
//! - Webhook and admin tokens are looked up by SHA-256; they are 256 random bits, so a plain
//!   hash is enough (no password stretching needed).
//! - An API key's fingerprint is an HMAC under the master key: it names the key's shared
//!   request budget without being usable to test guesses offline.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// What went wrong with a secret.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("security.master_key is not set: it must be base64 of 32 random bytes")]
    MissingMasterKey,
    #[error("security.master_key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("a stored secret could not be decrypted (wrong master key or tampered row)")]
    Decrypt,
}

/// What a ciphertext is for; part of the associated data so purposes cannot be swapped.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    KeycrmApiKey,
    WebhookToken,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::KeycrmApiKey => b"sklad/keycrm-api-key/v1",
            Purpose::WebhookToken => b"sklad/webhook-token/v1",
        }
    }
}

/// Encrypts and fingerprints secrets with the process's master key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    fingerprint_mac: Hmac<Sha256>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Builds the box from `security.master_key` (base64 of 32 bytes).
    pub fn from_master_key(master_key: Option<&SecretString>) -> Result<Self, CryptoError> {
        let encoded = master_key.ok_or(CryptoError::MissingMasterKey)?;
        let bytes = STANDARD
            .decode(encoded.expose_secret().trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        // Derive a separate MAC key so the encryption key is used for one thing only.
        let mut derive =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| CryptoError::BadMasterKey)?;
        derive.update(b"sklad/fingerprint-key/v1");
        let fingerprint_mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&derive.finalize().into_bytes())
                .map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
            fingerprint_mac,
        })
    }

    /// A fresh random master key, base64-encoded (for set-up scripts and tests).
    pub fn generate_master_key() -> String {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Encrypts `plaintext` for `account`; the result is `nonce || ciphertext`.
    pub fn encrypt(&self, account: Uuid, purpose: Purpose, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(account, purpose);
        // Encryption with a valid key and in-memory buffers cannot fail.
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`SecretBox::encrypt`] produced for the same account and purpose.
    pub fn decrypt(
        &self,
        account: Uuid,
        purpose: Purpose,
        stored: &[u8],
    ) -> Result<SecretString, CryptoError> {
        if stored.len() <= NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let aad = associated_data(account, purpose);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Keyed fingerprint of an API key: equal keys give equal fingerprints.
    pub fn fingerprint(&self, api_key: &str) -> Vec<u8> {
        let mut mac = self.fingerprint_mac.clone();
        mac.update(api_key.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

fn associated_data(account: Uuid, purpose: Purpose) -> Vec<u8> {
    let mut aad = purpose.label().to_vec();
    aad.extend_from_slice(account.as_bytes());
    aad
}

/// A new random token: 32 bytes (256 bits), URL-safe base64.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, as stored and looked up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Constant-time equality of two stored hashes.
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_box() -> SecretBox {
        let key = SecretString::from(SecretBox::generate_master_key());
        SecretBox::from_master_key(Some(&key)).unwrap()
    }

    #[test]
    fn encrypts_and_decrypts_for_the_same_account() {
        let sb = secret_box();
        let account = Uuid::new_v4();
        let stored = sb.encrypt(account, Purpose::KeycrmApiKey, "my-api-key");
        assert!(!stored.windows(10).any(|w| w == b"my-api-key"));
        let back = sb.decrypt(account, Purpose::KeycrmApiKey, &stored).unwrap();
        assert_eq!(back.expose_secret(), "my-api-key");
    }

    #[test]
    fn another_account_or_purpose_or_key_cannot_decrypt() {
        let sb = secret_box();
        let account = Uuid::new_v4();
        let stored = sb.encrypt(account, Purpose::KeycrmApiKey, "k");
        assert!(
            sb.decrypt(Uuid::new_v4(), Purpose::KeycrmApiKey, &stored)
                .is_err()
        );
        assert!(sb.decrypt(account, Purpose::WebhookToken, &stored).is_err());
        assert!(
            secret_box()
                .decrypt(account, Purpose::KeycrmApiKey, &stored)
                .is_err()
        );
        assert!(
            sb.decrypt(account, Purpose::KeycrmApiKey, b"short")
                .is_err()
        );
    }

    #[test]
    fn master_key_must_be_32_bytes_of_base64() {
        assert!(matches!(
            SecretBox::from_master_key(None),
            Err(CryptoError::MissingMasterKey)
        ));
        let short = SecretString::from(STANDARD.encode([1u8; 16]));
        assert!(matches!(
            SecretBox::from_master_key(Some(&short)),
            Err(CryptoError::BadMasterKey)
        ));
    }

    #[test]
    fn fingerprints_are_stable_and_keyed() {
        let sb = secret_box();
        assert_eq!(sb.fingerprint("a"), sb.fingerprint("a"));
        assert_ne!(sb.fingerprint("a"), sb.fingerprint("b"));
        assert_ne!(sb.fingerprint("a"), secret_box().fingerprint("a"));
    }

    #[test]
    fn tokens_are_long_random_and_hash_consistently() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43); // 32 bytes in unpadded base64
        assert!(hashes_equal(&token_hash(&a), &token_hash(&a)));
        assert!(!hashes_equal(&token_hash(&a), &token_hash(&b)));
    }
}
