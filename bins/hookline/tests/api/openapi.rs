//! `GET /openapi.json` and `GET /docs`.

use serde_json::Value;

use crate::helpers::TestApp;

#[test]
fn openapi_json_describes_every_route_with_schemas_and_examples() {
    let app = TestApp::spawn();
    let doc: Value = app.get_json("/openapi.json", 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/webhook", "post"),
        ("/messages", "get"),
        ("/stats", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"].is_object(),
            "{method} {path}"
        );
    }
    let webhook_statuses = doc["paths"]["/webhook"]["post"]["responses"]
        .as_object()
        .unwrap();
    for status in ["200", "401", "413", "415", "422", "503"] {
        assert!(
            webhook_statuses.contains_key(status),
            "/webhook documents {status}"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "MessagesPage",
        "StatsBody",
        "ValidationErrors",
        "WebhookPayload",
    ] {
        assert!(
            schemas[name]["example"].is_object(),
            "{name} has no example"
        );
    }
    let params: Vec<_> = doc["paths"]["/messages"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(params, ["limit", "offset", "from", "since", "q", "cursor"]);
}

#[test]
fn docs_redirects_to_an_interactive_page_that_loads_the_document() {
    let app = TestApp::spawn();
    let redirect = app.get("/docs").unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app.get("/docs/").unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().to_lowercase().contains("swagger"));
    let init = app
        .get("/docs/swagger-initializer.js")
        .unwrap()
        .text()
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
}
