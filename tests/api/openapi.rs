//! The committed OpenAPI document is what the code generates. To refresh it after a change:
//! `UPDATE_OPENAPI=1 cargo test --test api openapi`.

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = canyu::openapi::to_pretty_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit it"
    );
}

#[test]
fn every_error_answer_in_the_document_is_a_problem() {
    let spec: serde_json::Value = serde_json::from_str(&canyu::openapi::to_pretty_json()).unwrap();
    assert_eq!(spec["openapi"].as_str().unwrap(), "3.1.0");
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            for (status, res) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        res["content"]["application/problem+json"].is_object(),
                        "{verb} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
}
