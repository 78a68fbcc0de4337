//! Board link setup and build-time provider settings.
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // A microcontroller board's memory layout, `src/board/<board>.x`, becomes the
    // `memory.x` that cortex-m-rt's `link.x` includes.
    println!("cargo:rerun-if-changed=src/board");
    for entry in std::fs::read_dir("src/board").expect("read src/board") {
        let layout = entry.expect("list src/board").path();
        let Some(board) = layout.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        let feature = format!("CARGO_FEATURE_{}", board.to_uppercase());
        if layout.extension().is_some_and(|ext| ext == "x") && std::env::var_os(feature).is_some() {
            std::fs::copy(&layout, out.join("memory.x")).expect("copy the memory layout");
            println!("cargo:rustc-link-search={}", out.display());
            println!("cargo:rustc-link-arg-bins=--nmagic");
            println!("cargo:rustc-link-arg-bins=-Tlink.x");
        }
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
