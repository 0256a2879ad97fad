//! Gives the shared library its soname, `libmcring.so.<ABI major>`, so that
//! programs linked against this ABI never load an incompatible one.

use std::path::Path;

/// Bumped on every incompatible change of the C ABI (a removed or changed
/// function, type or enum value). Adding functions keeps it.
const ABI_MAJOR: &str = "0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=MCRING_ABI_MAJOR={ABI_MAJOR}");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "macos" || os == "ios" || os == "windows" {
        return;
    }
    let soname = format!("libmcring.so.{ABI_MAJOR}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    link_soname_in_profile_dir(&soname);
}

/// A program linked with `-Ltarget/release -lmcring` asks the loader for the
/// soname, so `target/<profile>/libmcring.so.<ABI>` must exist next to the
/// library for it to run from a checkout (installs make their own links).
/// `OUT_DIR` is `<profile dir>/build/<package>-<hash>/out`.
#[cfg(unix)]
fn link_soname_in_profile_dir(soname: &str) {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else { return };
    let Some(profile_dir) = Path::new(&out_dir).ancestors().nth(3) else { return };
    if profile_dir.join("build").is_dir() {
        let link = profile_dir.join(soname);
        if std::fs::read_link(&link).is_err() {
            // Best effort: a failure here only affects running from a checkout.
            let _ = std::os::unix::fs::symlink("libmcring.so", &link);
        }
    }
}

#[cfg(not(unix))]
fn link_soname_in_profile_dir(_soname: &str) {}
