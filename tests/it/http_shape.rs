//! The shape of every response: request ids, security headers, error envelopes and pages,
//! health and metrics endpoints, static files.

use hearth::clock::Clock;

use crate::helpers::TestApp;

fn assert_error_envelope(body: &serde_json::Value, status: u16, code: &str) {
    assert_eq!(body["statusCode"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["requestId"].as_str().is_some_and(|e| e.len() == 16),
        "{body}"
    );
}

#[tokio::test]
async fn every_response_has_a_request_id_and_security_headers() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for path in ["/", "/healthz", "/nope", "/api/v1/me", "/static/hearth.css"] {
        let resp = client.get(app.url(path)).send().await.unwrap();
        let h = resp.headers();
        let id = h
            .get("x-request-id")
            .expect("x-request-id")
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 16, "{path}");
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert!(h.get("referrer-policy").is_some());
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn api_errors_use_the_envelope_and_pages_get_html() {
    let app = TestApp::spawn().await;
    let client = app.client();

    let resp = client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_error_envelope(&body, 404, "NOT_FOUND");
    assert_eq!(body["requestId"], id.as_str());

    let resp = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_error_envelope(&resp.json().await.unwrap(), 401, "UNAUTHORIZED");

    let resp = client.put(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let allow = resp.headers()["allow"].to_str().unwrap().to_string();
    assert!(
        allow.contains("POST") && allow.contains("DELETE") && !allow.contains("PUT"),
        "{allow}"
    );
    assert_error_envelope(&resp.json().await.unwrap(), 405, "METHOD_NOT_ALLOWED");

    let resp = client
        .post(app.url("/api/v1/session"))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_error_envelope(&resp.json().await.unwrap(), 415, "UNSUPPORTED_MEDIA_TYPE");

    let resp = client
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_error_envelope(&resp.json().await.unwrap(), 400, "BAD_REQUEST");

    let big = vec![b'x'; 2 * 1024 * 1024];
    let resp = client
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_error_envelope(&resp.json().await.unwrap(), 413, "PAYLOAD_TOO_LARGE");

    // Outside the API, the same errors are friendly pages that quote the request id.
    let resp = client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains(&id) && html.contains("Not Found"), "{html}");

    let resp = client.delete(app.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST, HEAD");
    app.stop().await;
}

#[tokio::test]
async fn the_api_is_rate_limited_with_headers() {
    let app = TestApp::spawn().await;
    let client = app.client();
    // The manual clock stands still, so the bucket does not refill during the test.
    for i in 0..20 {
        let resp = client.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(resp.status(), 401, "request {i}");
        assert_eq!(resp.headers()["x-ratelimit-limit"], "20");
        assert_eq!(
            resp.headers()["x-ratelimit-remaining"].to_str().unwrap(),
            (19 - i).to_string()
        );
    }
    let resp = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    // The reset is a Unix time: when the bucket is whole again (20 tokens at 20 a second).
    let reset: i64 = resp.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(reset, app.clock.now().as_second() + 1);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_error_envelope(&body, 429, "RATE_LIMITED");
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let client = app.client();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let ready: serde_json::Value = client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    let names: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["store", "jobs", "disk"]);

    let metrics = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"hearth_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("hearth_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains(r#"hearth_jobs{state="pending"}"#), "{text}");
    assert!(text.contains("hearth_database_bytes"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn metrics_need_loopback_or_the_token() {
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.metrics.token = Some(hearth::domain::secret::Secret::new("scrape-me".into()));
        // Pretend every client is remote: trust loopback as a proxy that reports another address.
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let client = app.client();
    let remote = client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(remote.status(), 403);
    let with_token = client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn static_files_have_strong_etags_and_fingerprinted_urls_are_immutable() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let html = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let re = regex::Regex::new(r#"href="(/static/[0-9a-f]{16}/hearth\.css)""#).unwrap();
    let css_url = re.captures(&html).expect("fingerprinted css link")[1].to_string();

    let resp = client.get(app.url(&css_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");

    let plain = client
        .get(app.url("/static/hearth.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 304);
    assert_eq!(plain.headers()["cache-control"], "no-cache");

    let htmx = client
        .get(app.url("/static/vendor/htmx-2.0.11.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(htmx.status(), 200);
    assert_eq!(
        client
            .get(app.url("/static/../Cargo.toml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_and_docs_page_are_served() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let spec: serde_json::Value = client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let sign_in = &spec["paths"]["/api/v1/session"]["post"];
    for status in ["200", "400", "401", "405", "413", "415", "429", "500"] {
        assert!(
            sign_in["responses"].get(status).is_some(),
            "signIn lacks {status}"
        );
    }
    assert!(spec["components"]["schemas"]["Error"].is_object());
    let docs = client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let docs = docs.text().await.unwrap();
    assert!(
        docs.contains("POST /api/v1/session") && !docs.contains("<script"),
        "{docs}"
    );
    app.stop().await;
}

/// Made-up methods and paths share one metrics label each, so nobody can grow `/metrics`.
#[tokio::test]
async fn metrics_labels_stay_bounded_whatever_clients_send() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let size = || async {
        client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    // Every route template gets its series once used; warm up the ones the flood will touch.
    client.get(app.url("/")).send().await.unwrap();
    client.get(app.url("/nope")).send().await.unwrap();
    let before = size().await.len();
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        client.request(method, app.url("/")).send().await.unwrap();
        client
            .get(app.url(&format!("/no/such/page/{i}")))
            .send()
            .await
            .unwrap();
    }
    let after = size().await;
    assert!(after.contains(r#"method="OTHER""#), "{after}");
    assert!(!after.contains("INVENTED"));
    assert!(!after.contains("/no/such/page"));
    // One new method label (OTHER) on one route, with its histogram and 405 counter.
    assert!(
        after.len() < before + 4096,
        "grew from {before} to {} bytes",
        after.len()
    );
    app.stop().await;
}

/// The icons browsers ask for and the web app manifest are there, so pages load without a
/// 404 and the site can be added to a phone's home screen.
#[tokio::test]
async fn favicon_and_manifest_are_served() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let icon = client.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    let kind = icon.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.contains("icon"), "{kind}");
    assert_eq!(
        &icon.bytes().await.unwrap()[..4],
        &[0, 0, 1, 0],
        "an ICO file"
    );
    let touch = client
        .get(app.url("/apple-touch-icon.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(touch.status(), 200);

    let manifest = client
        .get(app.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    assert!(
        manifest.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/manifest+json")
    );
    let manifest: serde_json::Value = manifest.json().await.unwrap();
    assert_eq!(manifest["name"], "Hearth");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    assert!(icons.iter().any(|i| i["purpose"] == "maskable"));
    for icon in icons {
        let resp = client
            .get(app.url(icon["src"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{icon}");
        assert_eq!(resp.headers()["content-type"], "image/png");
    }
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    assert!(page.contains(r#"rel="icon""#));
    app.stop().await;
}
