//! The OpenAPI 3.1 document of the API, generated: the schemas come from the body types of
//! [`crate::bodies`] (through `schemars`), the operations from [`operations`], one entry per
//! route the server serves, written next to each other by concept. The server serves
//! [`document`] at `/api/v1/openapi.json` (with its own limits written in), and its tests
//! compare the router's routes with the document's, both ways.
//!
//! Request bodies and query strings are described by the types the server decodes them into
//! (the `Deserialize` side); answers by the types it encodes (the `Serialize` side, where every
//! field is present and `Option` is written `null`).

mod builder;
mod operations;
mod security;

use schemars::generate::{Contract, SchemaSettings};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

pub use builder::Operation;
pub use security::Scheme;

/// Where the schemas live in the document.
const SCHEMAS: &str = "/components/schemas";

/// The two generators: one for what clients send, one for what the server answers.
pub(crate) struct Generators {
    pub(crate) requests: SchemaGenerator,
    pub(crate) answers: SchemaGenerator,
}

impl Generators {
    fn new() -> Self {
        let settings = |contract| {
            let mut s = SchemaSettings::draft2020_12();
            s.definitions_path = SCHEMAS.into();
            s.meta_schema = None;
            s.contract = contract;
            s
        };
        Self {
            requests: settings(Contract::Deserialize).into_generator(),
            answers: settings(Contract::Serialize).into_generator(),
        }
    }

    /// Every named schema either side referenced. A type both sides use must come out the
    /// same from both (the document has one schema per name).
    fn into_schemas(mut self) -> Map<String, Value> {
        let mut schemas = self.answers.take_definitions(true);
        for (name, schema) in self.requests.take_definitions(true) {
            match schemas.get(&name) {
                Some(other) if *other != schema => {
                    panic!("schema {name} differs between requests and answers: give each side its own type")
                }
                _ => {
                    schemas.insert(name, schema);
                }
            }
        }
        schemas.sort_keys();
        schemas
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut generators = Generators::new();
    let mut paths = Map::new();
    for op in operations::all() {
        let (path, method, value) = op.build(&mut generators);
        let entry = paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let previous = entry
            .as_object_mut()
            .expect("path items are objects")
            .insert(method.to_owned(), value);
        assert!(previous.is_none(), "{method} {path} is described twice");
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sealdrop API",
            "version": "1",
            "description": "End-to-end encrypted file transfer. The prose contract is docs/API.md; this document is generated from the wire types of the sealdrop-api crate, which the server and the native client both use.",
        },
        "paths": paths,
        "components": {
            "schemas": generators.into_schemas(),
            "securitySchemes": security::schemes(),
            "parameters": security::path_parameters(),
        },
    });
    tidy(&mut doc);
    doc
}

/// Finishes what the generator wrote: descriptions read as sentences (doc comments' line
/// breaks joined, rustdoc links unwrapped), and every integer bounded by its Rust type, so a
/// schema-driven client never sends a number the server cannot hold.
fn tidy(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(d)) = fields.get_mut("description") {
                *d = prose(d);
            }
            let bounds = match fields.get("format").and_then(Value::as_str) {
                Some("uint64") => Some((json!(0), json!(u64::MAX))),
                Some("uint32") => Some((json!(0), json!(u32::MAX))),
                Some("uint16") => Some((json!(0), json!(u16::MAX))),
                Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
                Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                fields.entry("minimum").or_insert(min);
                fields.entry("maximum").or_insert(max);
            }
            for v in fields.values_mut() {
                tidy(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// A doc comment as one paragraph per blank-line-separated block, without rustdoc's link
/// brackets.
fn prose(doc: &str) -> String {
    doc.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
        .replace("[`", "`")
        .replace("`]", "`")
}

/// Every operation as (method in upper case, path template), in the document's order.
pub fn operations() -> Vec<(&'static str, &'static str)> {
    operations::all()
        .iter()
        .map(|op| (op.method_upper(), op.path()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_built_without_clashes_and_every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let parameters = doc["components"]["parameters"].as_object().unwrap();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = &reference[..reference.find('"').unwrap()];
            let found = if let Some(name) = target.strip_prefix("#/components/schemas/") {
                schemas.contains_key(name)
            } else if let Some(name) = target.strip_prefix("#/components/parameters/") {
                parameters.contains_key(name)
            } else {
                false
            };
            assert!(found, "dangling reference {target}");
        }
        assert!(schemas.contains_key("Error"));
    }
}
