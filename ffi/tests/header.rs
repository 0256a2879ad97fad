//! The checked-in header must be what cbindgen generates from the sources:
//! this test regenerates it and fails on any difference. Run with
//! `MCRING_UPDATE_HEADER=1` to rewrite `include/libmcring.h` instead.

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../include/libmcring.h")
}

fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_is_up_to_date() {
    let generated = generate();
    let path = header_path();
    if std::env::var_os("MCRING_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        let first = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(checked_in.lines().count().min(generated.lines().count()));
        panic!(
            "{} is stale (first difference at line {}); regenerate it with\n  \
             MCRING_UPDATE_HEADER=1 cargo test -p mcring-ffi --test header",
            path.display(),
            first + 1
        );
    }
}

#[test]
fn header_versions_match_the_crate() {
    let header = std::fs::read_to_string(header_path()).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split('.');
    let expected = [
        format!("#define MCRING_VERSION \"{version}\""),
        format!("#define MCRING_VERSION_MAJOR {}", parts.next().unwrap()),
        format!("#define MCRING_VERSION_MINOR {}", parts.next().unwrap()),
        format!("#define MCRING_VERSION_PATCH {}", parts.next().unwrap()),
        format!("#define MCRING_ABI_VERSION {}", env!("MCRING_ABI_MAJOR")),
    ];
    for line in expected {
        assert!(
            header.lines().any(|l| l == line),
            "{} lacks `{line}`: update after_includes in ffi/cbindgen.toml",
            Path::new("include/libmcring.h").display()
        );
    }
}
