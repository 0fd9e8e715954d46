//! TLS with automatic certificates: Hearth obtains a real certificate from Debian's `pebble`
//! ACME test CA on loopback (TLS-ALPN-01), serves HTTPS with it (verified against pebble's
//! root), and sends HSTS and `Secure` cookies.
//!
//! The test starts pebble through `tests/pebble/start.sh` unless the caller already did
//! (`tests/run-all.sh` exports `PEBBLE_TEST*`).

use std::collections::HashMap;
use std::time::Duration;

use hearth::tls::TlsSettings;

use hearth::clock::Clock;

use crate::helpers::TestApp;

/// Pebble's coordinates; stops the pebble this test started, if any.
struct Pebble {
    vars: HashMap<String, String>,
    started_here: bool,
}

impl Pebble {
    fn start_or_reuse() -> Pebble {
        let root = env!("CARGO_MANIFEST_DIR");
        if std::env::var("PEBBLE_TEST").is_ok() {
            let vars = std::env::vars()
                .filter(|(k, _)| k.starts_with("PEBBLE_TEST_"))
                .collect();
            return Pebble {
                vars,
                started_here: false,
            };
        }
        let out = std::process::Command::new(format!("{root}/tests/pebble/start.sh"))
            .output()
            .expect("run tests/pebble/start.sh");
        assert!(
            out.status.success(),
            "pebble did not start (is Debian's `pebble` installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.trim_matches('\'').trim_matches('"').to_string(),
                )
            })
            .collect();
        Pebble {
            vars,
            started_here: true,
        }
    }

    fn var(&self, name: &str) -> String {
        self.vars
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("pebble did not report {name}"))
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        if self.started_here {
            let root = env!("CARGO_MANIFEST_DIR");
            let _ = std::process::Command::new(format!("{root}/tests/pebble/stop.sh"))
                .envs(&self.vars)
                .status();
        }
    }
}

#[tokio::test]
async fn obtains_a_certificate_from_an_acme_ca_and_serves_https() {
    let pebble = Pebble::start_or_reuse();
    let tls_port: u16 = pebble.var("PEBBLE_TEST_TLS_PORT").parse().unwrap();
    let directory_url = pebble.var("PEBBLE_TEST_DIR_URL");
    let api_ca = pebble.var("PEBBLE_TEST_API_CA");

    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.server.listen = format!("127.0.0.1:{tls_port}").parse().unwrap();
        c.tls.settings = TlsSettings::Acme {
            domains: vec!["hearth.test".into()],
            contact_email: Some("admin@hearth.test".into()),
            directory_url,
            extra_ca_root: Some(api_ca.clone().into()),
            cache_dir: c.storage.data_dir.join("acme"),
        };
        c.tls.redirect_listen = None;
    })
    .await;

    let status = tokio::time::timeout(Duration::from_secs(60), app.tls_status.certificate_ready())
        .await
        .expect("a certificate within 60 s");
    assert_eq!(status.mode, "acme");
    assert!(status.not_after.is_some_and(|t| t > app.clock.now()));

    // Trust only pebble's issuing root, fetched from its management API.
    let api_client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&api_ca).unwrap()).unwrap()])
        .build()
        .unwrap();
    let root = api_client
        .get(pebble.var("PEBBLE_TEST_ROOTS_URL"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&root).unwrap()])
        .resolve("hearth.test", app.addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://hearth.test:{tls_port}/healthz"))
        .send()
        .await
        .expect("HTTPS verified against pebble's root");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=31536000")
    );
    assert_eq!(resp.text().await.unwrap(), "ok");

    // The session cookie is Secure with the __Host- prefix under TLS.
    let page = client
        .get(format!("https://hearth.test:{tls_port}/login"))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-hearth_csrf=") && c.contains("Secure")),
        "{cookies:?}"
    );

    app.stop().await;
}
