//! Secure links and link proofs for pages.
//!
//! The recipient page reads its own URL with [`parse_link`]: the link secret `C` comes from the
//! fragment (which no server ever sees), and the link proof `A` derived from it is what the
//! page sends as `X-Sealdrop-Link-Proof`. `C` itself never leaves the page.

use js_sys::{Object, Reflect};
use sealdrop_crypto::{LinkProof, LinkSecret, PackageId, SecureLink};
use wasm_bindgen::prelude::*;

use crate::error::{Result, WidgetError};

/// `A = HKDF-SHA256(ikm = C, salt = package_id, info = "sealdrop/v1/link-auth")` as base64url:
/// the value of the `X-Sealdrop-Link-Proof` header.
#[wasm_bindgen(js_name = linkProof)]
pub fn link_proof(link_secret: &str, package_id: &str) -> Result<String, JsValue> {
    let secret = LinkSecret::parse_b64u(link_secret).map_err(WidgetError::from)?;
    let id = PackageId::parse_b64u(package_id).map_err(WidgetError::from)?;
    Ok(LinkProof::derive(&secret, &id).to_b64u())
}

/// `SHA-256(A)` as base64url, from a link proof `A` (base64url): the value of the
/// `X-Sealdrop-Link-Verifier` header.
#[wasm_bindgen(js_name = linkVerifier)]
pub fn link_verifier(link_proof: &str) -> Result<String, JsValue> {
    let proof = LinkProof::parse_b64u(link_proof).map_err(WidgetError::from)?;
    Ok(proof.verifier().to_b64u())
}

/// A secure link taken apart.
#[derive(Debug)]
pub struct ParsedLink {
    /// The server's base URL, without a trailing `/`.
    pub base: String,
    /// The package id (base64url).
    pub package_id: String,
    /// The link secret `C` (base64url): stays in the page.
    pub link_secret: String,
    /// The link proof `A` (base64url): goes to the server.
    pub link_proof: String,
}

impl ParsedLink {
    /// Parses `{base}/p/{package id}#{link secret}`.
    pub fn parse(url: &str) -> Result<Self> {
        let link = SecureLink::parse(url)?;
        Ok(Self {
            base: link.base().to_owned(),
            package_id: link.id().to_b64u(),
            link_secret: link.secret().to_b64u(),
            link_proof: LinkProof::derive(link.secret(), &link.id()).to_b64u(),
        })
    }

    fn to_js(&self) -> Object {
        let obj = Object::new();
        for (name, value) in [
            ("base", &self.base),
            ("packageId", &self.package_id),
            ("linkSecret", &self.link_secret),
            ("linkProof", &self.link_proof),
        ] {
            // Reflect::set on a fresh plain object cannot fail.
            let _ = Reflect::set(&obj, &name.into(), &value.into());
        }
        obj
    }
}

/// Parses a secure link (`https://HOST/p/{id}#{secret}`, for example `location.href`) into
/// `{ base, packageId, linkSecret, linkProof }`. Throws `invalid_encoding` for anything else.
#[wasm_bindgen(
    js_name = parseLink,
    unchecked_return_type = "{ base: string, packageId: string, linkSecret: string, linkProof: string }"
)]
pub fn parse_link(url: &str) -> Result<Object, JsValue> {
    Ok(ParsedLink::parse(url)?.to_js())
}
