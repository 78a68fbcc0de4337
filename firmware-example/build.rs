//! Board link setup and build-time provider settings.
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if std::env::var_os("CARGO_FEATURE_NUCLEO_H743ZI2").is_some() {
        std::fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
        println!("cargo:rustc-link-search={}", out.display());
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rerun-if-changed=memory.x");
    }
    // The provider's CA certificate (DER) for TLS, from a file named at build time.
    println!("cargo:rerun-if-env-changed=PA_CA_DER_FILE");
    let ca = match std::env::var_os("PA_CA_DER_FILE") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            std::fs::read(&path).expect("PA_CA_DER_FILE names a readable DER certificate")
        }
        None => Vec::new(),
    };
    std::fs::write(out.join("provider-ca.der"), ca).expect("write provider-ca.der");
}
