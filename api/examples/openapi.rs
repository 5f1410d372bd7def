//! Prints the OpenAPI document: `cargo run -p sealdrop-api --example openapi`.
fn main() {
    let doc = sealdrop_api::openapi::document();
    println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
}
