//! Device keys that wasm never holds (docs/FORMAT.md §20.5): a browser with WebCrypto X25519
//! keeps the agent's device key as a non-extractable `CryptoKey`, so the page computes the key
//! agreement of each X25519 stanza itself and hands over only the results.
//!
//! ```js
//! const ephemerals = teamStanzaEphemerals(manifest);          // [Uint8Array(32)], stanza order
//! const shares = [];
//! for (const e of ephemerals) {
//!   const pub = await crypto.subtle.importKey("raw", e, { name: "X25519" }, true, []);
//!   try {
//!     shares.push(new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: pub }, device.privateKey, 256)));
//!   } catch {
//!     shares.push(null);                                       // an all-zero result: low order
//!   }
//! }
//! const opened = openTeamPackageWithShares(manifest, device.deviceKey, shares, link.linkSecret);
//! shares.forEach((s) => s?.fill(0));
//! ```
//!
//! The shared secrets are copied into wasm memory that is wiped when the call returns; the
//! core unwraps exactly as it does with a key it holds (`Manifest::open_with_x25519_agreement`).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast as _;
use zeroize::Zeroizing;

use sealdrop_crypto::{Manifest, X25519SharedSecret};

use crate::error::{Result, WidgetError};

/// One stanza's share `E` and the page's `X25519(d, E)` for it (`None`: refused). Wiped on drop.
type Agreed = ([u8; 32], Option<Zeroizing<[u8; 32]>>);

/// The page's key agreement results, one per X25519 stanza of a manifest, paired with the
/// stanza's share `E`.
pub(crate) struct OutsideAgreement {
    pairs: Vec<Agreed>,
}

impl OutsideAgreement {
    /// Pairs `shares` (a JavaScript array: a 32-byte `Uint8Array`, or `null` where the key
    /// agreement refused the share) with the manifest's X25519 stanzas, in order. The count
    /// must match `teamStanzaEphemerals(manifest)`.
    pub(crate) fn new(manifest: &Manifest, shares: &Array) -> Result<Self> {
        let ephemerals = manifest.x25519_shares();
        if shares.length() as usize != ephemerals.len() {
            return Err(WidgetError::invalid(format!(
                "shares must hold one entry per X25519 stanza ({}, as teamStanzaEphemerals gives)",
                ephemerals.len()
            )));
        }
        let pairs = ephemerals
            .into_iter()
            .zip(shares.iter())
            .map(|(e, value)| {
                if value.is_null() || value.is_undefined() {
                    return Ok((e, None));
                }
                let array = value
                    .dyn_into::<Uint8Array>()
                    .map_err(|_| WidgetError::invalid("each share is a Uint8Array or null"))?;
                if array.length() != 32 {
                    return Err(WidgetError::invalid("each share is 32 bytes"));
                }
                let mut bytes = Zeroizing::new([0u8; 32]);
                array.copy_to(&mut bytes[..]);
                Ok((e, Some(bytes)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(OutsideAgreement { pairs })
    }

    /// The agreement with share `E`, as the core asks for it.
    pub(crate) fn agree(&self, e: &[u8; 32]) -> Option<X25519SharedSecret> {
        self.pairs
            .iter()
            .find(|(share, _)| share == e)
            .and_then(|(_, shared)| shared.as_ref())
            .map(|shared| X25519SharedSecret::from_bytes(**shared))
    }
}
