//! Board selection and link setup, and build-time provider settings.
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    select_board(&out);
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

/// The board is the file `src/board/<board>.rs` whose feature (`-` for `_`) is on, so a
/// new board needs no line elsewhere: `main.rs` includes the `mod board` written here.
/// Its memory layout, `src/board/<board>.x` if it has one, becomes the `memory.x` that
/// cortex-m-rt's `link.x` includes.
fn select_board(out: &Path) {
    println!("cargo:rerun-if-changed=src/board");
    let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/board");
    let mut features = Vec::new();
    let mut enabled = Vec::new();
    for entry in std::fs::read_dir(&boards).expect("read src/board") {
        let file = entry.expect("list src/board").path();
        let Some(board) = file.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        if file.extension().is_some_and(|ext| ext == "rs") {
            features.push(format!("`{}`", board.replace('_', "-")));
            let flag = format!("CARGO_FEATURE_{}", board.to_uppercase());
            if std::env::var_os(flag).is_some() {
                enabled.push(board.to_owned());
            }
        }
    }
    features.sort();
    let module = match enabled.as_slice() {
        [board] => {
            let layout = boards.join(format!("{board}.x"));
            if layout.exists() {
                std::fs::copy(&layout, out.join("memory.x")).expect("copy the memory layout");
                println!("cargo:rustc-link-search={}", out.display());
                println!("cargo:rustc-link-arg-bins=--nmagic");
                // Identical functions (instances of generics that compile alike) kept once.
                println!("cargo:rustc-link-arg-bins=--icf=all");
                println!("cargo:rustc-link-arg-bins=-Tlink.x");
            }
            let source = boards.join(format!("{board}.rs"));
            format!("#[path = {:?}]\nmod board;\n", source.display().to_string())
        }
        _ => format!(
            "compile_error!(\"choose one board feature: {}\");\n",
            features.join(", ")
        ),
    };
    std::fs::write(out.join("board.rs"), module).expect("write board.rs");
}
