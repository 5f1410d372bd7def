//! Errors as JavaScript sees them.
//!
//! Every failure crosses into JavaScript as an `Error` whose `name` is `"SealdropError"`, whose
//! `message` is the human sentence, and which carries:
//!
//! - `kind`: the core's stable error kind (`"chunk_tampered"`, `"wrong_link_or_server_secret"`,
//!   `"metadata_tampered"`, `"truncated_file"`, `"invalid_manifest"`, ...: `Error::kind` of
//!   `sealdrop-crypto`, the names the test vectors use), or one of this crate's own kinds:
//!   `"invalid_argument"` (the caller passed something unusable, such as a negative size) and
//!   `"backend"` (WebCrypto failed in a way that says nothing about the data, such as
//!   `crypto.subtle` missing outside a secure context);
//! - `index`: the chunk index, for chunk errors.
//!
//! Pages branch on `kind`, never on the message. Messages never contain secrets or key material:
//! the core's messages say what failed, not which byte, and this crate adds only argument names
//! and WebCrypto's exception *name*.

use std::fmt;

use sealdrop_crypto::Error as CoreError;
use wasm_bindgen::JsValue;

/// The error type of every binding.
#[derive(Debug)]
pub enum WidgetError {
    /// An error of the format v1 core, kind and message unchanged.
    Core(CoreError),
    /// The caller passed an argument that cannot be used; the text names the argument.
    InvalidArgument(String),
    /// The AEAD backend failed for a reason unrelated to the data (WebCrypto unavailable,
    /// key import refused, output of the wrong length).
    Backend(String),
}

impl WidgetError {
    /// Shorthand for [`WidgetError::InvalidArgument`].
    pub fn invalid(what: impl Into<String>) -> Self {
        Self::InvalidArgument(what.into())
    }

    /// The `kind` JavaScript sees: the core's stable `snake_case` kind (the names the test
    /// vectors use) or this crate's own `invalid_argument` / `backend`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Core(e) => e.kind(),
            Self::InvalidArgument(_) => "invalid_argument",
            Self::Backend(_) => "backend",
        }
    }

    /// The chunk index the error is about, when there is one.
    pub fn chunk_index(&self) -> Option<u64> {
        match self {
            Self::Core(
                CoreError::ChunkTampered { index }
                | CoreError::WrongChunkLength { index, .. }
                | CoreError::ChunkOutOfRange { index, .. },
            ) => Some(*index),
            _ => None,
        }
    }

    /// The core error inside, if this is one (tests compare kinds with the vectors' expectations).
    pub fn core(&self) -> Option<&CoreError> {
        match self {
            Self::Core(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for WidgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(e) => write!(f, "{e}"),
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::Backend(what) => write!(f, "crypto backend failed: {what}"),
        }
    }
}

impl std::error::Error for WidgetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Core(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CoreError> for WidgetError {
    fn from(e: CoreError) -> Self {
        Self::Core(e)
    }
}

impl From<WidgetError> for JsValue {
    fn from(e: WidgetError) -> Self {
        let js = js_sys::Error::new(&e.to_string());
        js.set_name("SealdropError");
        let obj: &js_sys::Object = js.as_ref();
        // Reflect::set on a fresh, extensible Error object cannot fail.
        let _ = js_sys::Reflect::set(obj, &"kind".into(), &e.kind().into());
        if let Some(index) = e.chunk_index() {
            let _ = js_sys::Reflect::set(obj, &"index".into(), &(index as f64).into());
        }
        js.into()
    }
}

/// Result of every binding.
pub type Result<T, E = WidgetError> = std::result::Result<T, E>;
