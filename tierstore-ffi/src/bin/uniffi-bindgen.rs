//! uniffi's binding generator, built from the pinned `uniffi` crate so that bindings match the
//! scaffolding exactly and are generated offline (PyPI's `uniffi-bindgen` lags the crate).
//!
//! `cargo run -p tierstore-ffi --features cli --bin uniffi-bindgen -- generate --library
//! <libtierstore_ffi.so> --language python --out-dir <dir>`; `cargo xtask bindings` does it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
