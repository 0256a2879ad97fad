//! Gives the shared library its soname, `libmcring.so.<ABI major>`, so that
//! programs linked against this ABI never load an incompatible one.

/// Bumped on every incompatible change of the C ABI (a removed or changed
/// function, type or enum value). Adding functions keeps it.
const ABI_MAJOR: &str = "0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=MCRING_ABI_MAJOR={ABI_MAJOR}");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "macos" && os != "ios" && os != "windows" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmcring.so.{ABI_MAJOR}");
    }
}
