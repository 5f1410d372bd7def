//! Which AEAD runs the STREAM chunks: WebCrypto (default) or the core's RustCrypto AES-GCM.
//!
//! Both produce the same bytes (the test vectors and `webcrypto_and_rustcrypto_agree` prove it);
//! they differ in speed and availability. WebCrypto is about 25 times faster than AES compiled
//! to wasm but exists only in secure contexts (`https:` and `localhost`), so asking for it where
//! `crypto.subtle` is missing falls back to RustCrypto; [`backend`] says what is in effect.
//!
//! Small operations (stanzas, commitment, metadata) always use the core's synchronous RustCrypto
//! backend: they are a few hundred bytes and run once per package.

use std::cell::Cell;

use wasm_bindgen::prelude::*;

use crate::error::{Result, WidgetError};
use crate::webcrypto;

/// An AEAD backend for file chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `crypto.subtle` AES-GCM with a non-extractable key per file.
    WebCrypto,
    /// The core's pure-Rust `aes-gcm`, compiled to wasm.
    RustCrypto,
}

thread_local! {
    // wasm32-unknown-unknown without threads: one instance per Window or Worker, so a
    // thread-local is exactly "this page's setting".
    static DEFAULT: Cell<Backend> = const { Cell::new(Backend::WebCrypto) };
}

impl Backend {
    /// Parses the JavaScript name: `"webcrypto"` or `"rustcrypto"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "webcrypto" => Ok(Self::WebCrypto),
            "rustcrypto" => Ok(Self::RustCrypto),
            _ => Err(WidgetError::invalid(
                "backend must be \"webcrypto\" or \"rustcrypto\"",
            )),
        }
    }

    /// The JavaScript name.
    pub fn name(self) -> &'static str {
        match self {
            Self::WebCrypto => "webcrypto",
            Self::RustCrypto => "rustcrypto",
        }
    }

    /// The page-wide default set by [`set_backend`].
    pub fn default_for_page() -> Self {
        DEFAULT.with(Cell::get)
    }

    /// The backend to use for an object created now: `requested` (or the page default), except
    /// that WebCrypto falls back to RustCrypto where `crypto.subtle` does not exist.
    pub fn choose(requested: Option<&str>) -> Result<Self> {
        let wanted = match requested {
            Some(name) => Self::parse(name)?,
            None => Self::default_for_page(),
        };
        Ok(match wanted {
            Self::WebCrypto if webcrypto::subtle().is_none() => Self::RustCrypto,
            other => other,
        })
    }
}

/// Sets the page-wide default backend for objects created afterwards: `"webcrypto"` (the
/// default) or `"rustcrypto"`. Throws `InvalidArgument` for any other name.
#[wasm_bindgen(js_name = setBackend)]
pub fn set_backend(name: &str) -> Result<(), JsValue> {
    let backend = Backend::parse(name)?;
    DEFAULT.with(|d| d.set(backend));
    Ok(())
}

/// The backend a new object would use now: the page default, or `"rustcrypto"` when the default
/// is `"webcrypto"` but `crypto.subtle` is not available here (an insecure context).
#[wasm_bindgen(js_name = backend)]
pub fn backend() -> String {
    // `choose(None)` cannot fail: it parses nothing.
    Backend::choose(None)
        .unwrap_or(Backend::RustCrypto)
        .name()
        .to_owned()
}
