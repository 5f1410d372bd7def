//! [`Operation`]: one route's description, written as a chain of calls that name the body
//! types, so its schemas come from the types the server uses.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::security::Scheme;
use super::Generators;
use crate::error::ErrorBody;

/// Makes a type's schema (a `$ref` for named types) in a generator.
type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn subschema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn inline<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

enum Param {
    /// A shared path parameter, by its name under `components/parameters`.
    Shared(&'static str),
    /// The fields of a query string type, one parameter each.
    Query(SchemaFn),
    /// Written out (headers).
    Raw(Value),
}

enum Body {
    /// A typed body in `content_type`.
    Typed {
        content_type: &'static str,
        schema: SchemaFn,
        required: bool,
    },
    /// Bytes, e.g. ciphertext.
    Raw {
        content_type: &'static str,
        schema: Value,
        required: bool,
    },
}

enum Content {
    Typed(SchemaFn),
    Raw(Value),
}

struct Answer {
    status: u16,
    description: &'static str,
    content: Vec<(&'static str, Content)>,
    headers: Option<Value>,
}

/// One operation: a method on a path template, who may call it, what it takes and every
/// status it can answer.
#[allow(missing_debug_implementations)]
pub struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    description: Option<&'static str>,
    security: Option<Vec<Vec<Scheme>>>,
    parameters: Vec<Param>,
    body: Option<Body>,
    answers: Vec<Answer>,
}

/// Starts describing `method` (lower case, as OpenAPI writes it) on `path`.
pub fn op(method: &'static str, path: &'static str, summary: &'static str) -> Operation {
    Operation {
        method,
        path,
        summary,
        description: None,
        security: None,
        parameters: Vec::new(),
        body: None,
        answers: Vec::new(),
    }
}

impl Operation {
    /// The method in upper case, as the router names it.
    pub fn method_upper(&self) -> &'static str {
        match self.method {
            "get" => "GET",
            "put" => "PUT",
            "post" => "POST",
            "delete" => "DELETE",
            "head" => "HEAD",
            "patch" => "PATCH",
            other => panic!("method {other} is not one the API uses"),
        }
    }

    /// The path template (`/api/v1/packages/{id}`).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// A paragraph after the summary.
    pub fn description(mut self, text: &'static str) -> Self {
        self.description = Some(text);
        self
    }

    /// Who may call it: any one of `alternatives`, each a set of credentials sent together.
    pub fn security(mut self, alternatives: &[&[Scheme]]) -> Self {
        self.security = Some(alternatives.iter().map(|a| a.to_vec()).collect());
        self
    }

    /// For the tenant's admins: the tenant API token or a Zendesk admin's agent session (role
    /// confirmed through the grant on every call), and the refusals that go with it (401, 403,
    /// and 429 when Zendesk rate limits the role check).
    pub fn tenant_admin(self) -> Self {
        self.security(&[&[Scheme::TenantToken], &[Scheme::AgentSession]])
            .error(
                401,
                "unauthorized: no credential, or a token that is not valid (the message names the header to send)",
            )
            .error(
                403,
                "forbidden: an agent session of a non-admin (or sealdrop not set up for this Zendesk)",
            )
            .error(
                429,
                "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)",
            )
    }

    /// For one agent's own things (device keys): an agent session only, and the refusals that
    /// go with it (401, 403 for a tenant token or a role not allowed, 429 when Zendesk rate
    /// limits the role check).
    pub fn agent_own(self, forbidden: &'static str) -> Self {
        self.security(&[&[Scheme::AgentSession]])
            .error(
                401,
                "unauthorized: no credential, or a token that is not valid (the message names the header to send)",
            )
            .error(403, forbidden)
            .error(
                429,
                "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)",
            )
    }

    /// Anyone may call it: no credential.
    pub fn public(mut self) -> Self {
        self.security = Some(Vec::new());
        self
    }

    /// A path parameter shared by several paths (`PackageId`, `FileIndex`, `PartIndex`).
    pub fn path_param(mut self, name: &'static str) -> Self {
        self.parameters.push(Param::Shared(name));
        self
    }

    /// The query string, as the fields of `Q` (which the server decodes it into).
    pub fn query<Q: JsonSchema>(mut self) -> Self {
        self.parameters.push(Param::Query(inline::<Q>));
        self
    }

    /// A parameter written out (a header).
    pub fn param(mut self, parameter: Value) -> Self {
        self.parameters.push(Param::Raw(parameter));
        self
    }

    /// A JSON body of type `B`.
    pub fn json_body<B: JsonSchema>(mut self, required: bool) -> Self {
        self.body = Some(Body::Typed {
            content_type: "application/json",
            schema: subschema::<B>,
            required,
        });
        self
    }

    /// A form body (`application/x-www-form-urlencoded`) of type `B`.
    pub fn form_body<B: JsonSchema>(mut self) -> Self {
        self.body = Some(Body::Typed {
            content_type: "application/x-www-form-urlencoded",
            schema: inline::<B>,
            required: true,
        });
        self
    }

    /// A body of bytes.
    pub fn bytes_body(mut self, content_type: &'static str, schema: Value) -> Self {
        self.body = Some(Body::Raw {
            content_type,
            schema,
            required: true,
        });
        self
    }

    /// An answer with a JSON body of type `A`.
    pub fn json<A: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content: vec![("application/json", Content::Typed(subschema::<A>))],
            headers: None,
        });
        self
    }

    /// An answer with a body that is not JSON (a page, ciphertext, CSV), or with none.
    pub fn other(
        mut self,
        status: u16,
        description: &'static str,
        content: &[(&'static str, Value)],
    ) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content: content
                .iter()
                .map(|(t, s)| (*t, Content::Raw(s.clone())))
                .collect(),
            headers: None,
        });
        self
    }

    /// An answer that is an HTML page (a browser's, not a program's).
    pub fn page(self, status: u16, description: &'static str) -> Self {
        self.other(
            status,
            description,
            &[("text/html", json!({ "type": "string" }))],
        )
    }

    /// A second media type for the last answer (`text/csv` beside JSON).
    pub fn or_as(mut self, content_type: &'static str, schema: Value) -> Self {
        let last = self.answers.last_mut().expect("or_as follows an answer");
        last.content.push((content_type, Content::Raw(schema)));
        self
    }

    /// Headers of the last answer.
    pub fn with_headers(mut self, headers: Value) -> Self {
        let last = self
            .answers
            .last_mut()
            .expect("with_headers follows an answer");
        last.headers = Some(headers);
        self
    }

    /// An error answer: the [`ErrorBody`], with `description` naming the codes and why.
    pub fn error(self, status: u16, description: &'static str) -> Self {
        self.json::<ErrorBody>(status, description)
    }

    /// `500 internal`, which any operation that reaches the database or the store can answer.
    pub fn internal(self) -> Self {
        self.error(
            500,
            "internal: a failure on the server's side (logged, never detailed)",
        )
    }

    /// `503 unavailable` with `Retry-After`: the database or the blob store is out of reach.
    pub fn unavailable(self) -> Self {
        self.error(
            503,
            "unavailable: the server's database or blob store cannot be reached right now; retry after Retry-After seconds",
        )
        .with_headers(json!({
            "Retry-After": {
                "schema": { "type": "integer", "minimum": 1 },
                "description": "seconds to wait",
            }
        }))
    }

    /// The operation's entry: (path, method, operation object).
    pub(super) fn build(&self, generators: &mut Generators) -> (&'static str, &'static str, Value) {
        let mut o = Map::new();
        o.insert("summary".into(), self.summary.into());
        if let Some(d) = self.description {
            o.insert("description".into(), d.into());
        }
        if let Some(security) = &self.security {
            let alternatives: Vec<Value> = security
                .iter()
                .map(|set| {
                    Value::Object(
                        set.iter()
                            .map(|s| (s.name().to_owned(), json!([])))
                            .collect(),
                    )
                })
                .collect();
            o.insert("security".into(), alternatives.into());
        }
        let mut parameters = Vec::new();
        for p in &self.parameters {
            match p {
                Param::Shared(name) => {
                    parameters.push(json!({ "$ref": format!("#/components/parameters/{name}") }))
                }
                Param::Raw(v) => parameters.push(v.clone()),
                Param::Query(schema) => {
                    parameters.extend(query_parameters(schema(&mut generators.requests)))
                }
            }
        }
        if !parameters.is_empty() {
            o.insert("parameters".into(), parameters.into());
        }
        if let Some(body) = &self.body {
            let (content_type, schema, required) = match body {
                Body::Typed {
                    content_type,
                    schema,
                    required,
                } => (
                    *content_type,
                    schema(&mut generators.requests).to_value(),
                    *required,
                ),
                Body::Raw {
                    content_type,
                    schema,
                    required,
                } => (*content_type, schema.clone(), *required),
            };
            o.insert(
                "requestBody".into(),
                json!({ "required": required, "content": { content_type: { "schema": schema } } }),
            );
        }
        let mut responses = Map::new();
        for a in &self.answers {
            let mut r = Map::new();
            r.insert("description".into(), a.description.into());
            if let Some(h) = &a.headers {
                r.insert("headers".into(), h.clone());
            }
            if !a.content.is_empty() {
                let content: Map<String, Value> = a
                    .content
                    .iter()
                    .map(|(t, c)| {
                        let schema = match c {
                            Content::Typed(f) => f(&mut generators.answers).to_value(),
                            Content::Raw(v) => v.clone(),
                        };
                        ((*t).to_owned(), json!({ "schema": schema }))
                    })
                    .collect();
                r.insert("content".into(), content.into());
            }
            let previous = responses.insert(a.status.to_string(), r.into());
            assert!(
                previous.is_none(),
                "{} {} answers {} twice",
                self.method,
                self.path,
                a.status
            );
        }
        o.insert("responses".into(), responses.into());
        (self.path, self.method, o.into())
    }
}

/// One query parameter per property of a query type's object schema.
fn query_parameters(schema: Schema) -> Vec<Value> {
    let schema = schema.to_value();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        panic!("a query type must be a struct: {schema}");
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = without_null(property.clone());
            let description = property.as_object_mut().and_then(|p| {
                if p.get("default") == Some(&Value::Null) {
                    p.remove("default");
                }
                p.remove("description")
            });
            let mut p = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(d) = description {
                p["description"] = d;
            }
            p
        })
        .collect()
}

/// A query string has no `null`: a parameter is there or not.
fn without_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            schema["type"] = only.clone();
        }
    }
    if let Some(any) = schema.get_mut("anyOf").and_then(Value::as_array_mut) {
        any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
        if let [only] = any.as_slice() {
            let only = only.clone();
            let object = schema.as_object_mut().expect("an object schema");
            object.remove("anyOf");
            if let Some(fields) = only.as_object() {
                object.extend(fields.clone());
            }
        }
    }
    schema
}
