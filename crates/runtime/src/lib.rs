//! Process-level plumbing shared by every sklad binary.

pub mod health;
pub mod metrics;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use settings::Settings;

/// Selects the TLS crypto provider for reqwest and lapin once per process.
///
/// Both are built without a default provider so the build needs no C toolchain beyond `cc`;
/// calling this more than once is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
