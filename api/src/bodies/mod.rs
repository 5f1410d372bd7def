//! Every request and response body of the API, one module per concept. The server answers
//! with these types and reads requests into them; the native client and the tests read the
//! answers with the same types; the OpenAPI document's schemas are generated from them.

pub mod audit;
pub mod data_requests;
pub mod deletion;
pub mod packages;
pub mod settings;
pub mod team;
pub mod verification;
pub mod widget;
pub mod zendesk;
