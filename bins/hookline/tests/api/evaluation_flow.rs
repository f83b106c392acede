//! The original services' evaluation sequence (steps 2–8: health, signed and unsigned
//! webhooks, the list filters, `/stats`, `/metrics`), run literally: the same bodies, headers
//! and URLs, `+` unencoded.

use serde_json::Value;

use crate::helpers::{TestApp, ids};

/// Step 3's body, byte for byte.
const M1: &str = r#"{"message_id":"m1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Hello"}"#;
/// `printf '%s' "$M1" | openssl dgst -sha256 -hmac testsecret`, computed outside hookline.
const M1_SIGNATURE: &str = "ff1016e524bc9299d18988ecf27a880af9428140e3850af0c73ea1eef091a4cb";

#[test]
fn the_original_evaluation_flow_passes_as_written() {
    let app = TestApp::spawn();

    // 2. Both probes succeed.
    assert_eq!(app.get("/health/live").unwrap().status(), 200);
    assert_eq!(app.get("/health/ready").unwrap().status(), 200);

    // 3. Wrong signature → 401; right one → 200; again → 200 and still one row.
    let wrong = app.post_webhook(M1, &[("X-Signature", "123")]);
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().unwrap(),
        serde_json::json!({"detail": "invalid signature"})
    );
    for _ in 0..2 {
        let ok = app.post_webhook(M1, &[("X-Signature", M1_SIGNATURE)]);
        assert_eq!(ok.status(), 200);
        assert_eq!(
            ok.json::<Value>().unwrap(),
            serde_json::json!({"status": "ok"})
        );
    }
    assert_eq!(app.get_json("/messages", 200)["total"], 1);

    // 4. A few more messages.
    app.store(
        "m2",
        "+919876543210",
        "2025-01-15T09:00:00Z",
        Some("Earlier hello"),
    );
    app.store("m3", "+14155550123", "2025-01-15T11:00:00Z", Some("Bye"));
    app.store("m4", "+447700900123", "2025-01-14T08:00:00Z", None);

    // 5. Listing, paging and filters.
    let all = app.get_json("/messages", 200);
    assert_eq!(all["total"], 4);
    assert_eq!(
        (all["limit"].as_u64(), all["offset"].as_u64()),
        (Some(50), Some(0))
    );
    assert_eq!(ids(&all), ["m4", "m2", "m1", "m3"]);
    assert_eq!(
        all["data"][2],
        serde_json::from_str::<Value>(M1).unwrap(),
        "each item has exactly the five keys, as sent"
    );
    assert!(all["data"][0]["text"].is_null());

    let page = app.get_json("/messages?limit=2&offset=0", 200);
    assert_eq!(
        (
            page["total"].as_u64(),
            page["limit"].as_u64(),
            page["offset"].as_u64()
        ),
        (Some(4), Some(2), Some(0))
    );
    assert_eq!(ids(&page), ["m4", "m2"]);

    let from = app.get_json("/messages?from=+919876543210", 200);
    assert_eq!(from["total"], 2);
    assert_eq!(ids(&from), ["m2", "m1"]);

    let since = app.get_json("/messages?since=2025-01-15T09:30:00Z", 200);
    assert_eq!(since["total"], 2);
    assert_eq!(ids(&since), ["m1", "m3"]);

    let q = app.get_json("/messages?q=Hello", 200);
    assert_eq!(q["total"], 2);
    assert_eq!(ids(&q), ["m2", "m1"]);

    // 6. Stats.
    let stats = app.get_json("/stats", 200);
    assert_eq!(stats["total_messages"], 4);
    assert_eq!(stats["senders_count"], 3);
    assert_eq!(
        stats["messages_per_sender"],
        serde_json::json!([
            {"from": "+919876543210", "count": 2},
            {"from": "+14155550123", "count": 1},
            {"from": "+447700900123", "count": 1},
        ])
    );
    assert_eq!(stats["first_message_ts"], "2025-01-14T08:00:00Z");
    assert_eq!(stats["last_message_ts"], "2025-01-15T11:00:00Z");

    // 7. Metrics.
    let metrics = app.get("/metrics").unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().unwrap();
    assert!(text.lines().any(|l| l.starts_with("http_requests_total")));
    assert!(
        text.lines()
            .any(|l| l.starts_with("webhook_requests_total"))
    );

    // 8. Every log line is JSON; /webhook lines carry message_id and dup.
    let lines = app.log_lines();
    let webhook_lines: Vec<_> = lines.iter().filter(|l| l["path"] == "/webhook").collect();
    assert_eq!(webhook_lines.len(), 6);
    for line in webhook_lines {
        assert!(
            line.get("message_id").is_some() && line["dup"].is_boolean(),
            "{line}"
        );
    }
}
