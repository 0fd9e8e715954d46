//! TLS from certificate files: HTTPS with the given certificate, HSTS and `__Host-` cookies,
//! plain HTTP redirected to HTTPS; and clear errors for unusable files.

use hearth::tls::TlsSettings;

use crate::helpers::TestApp;

fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    (cert_path, key_path, cert.pem())
}

#[tokio::test]
async fn serves_https_from_files_and_redirects_plain_http() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_path, key_path, cert_pem) = self_signed(certs.path());
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.tls.settings = TlsSettings::Files {
            cert_path,
            key_path,
        };
        c.tls.redirect_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let port = app.addr.port();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let resp = client
        .get(format!("https://localhost:{port}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.version() == reqwest::Version::HTTP_2 || resp.version() == reqwest::Version::HTTP_11
    );
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-hearth_csrf=")
            && c.contains("Secure")
            && c.contains("Path=/")),
        "{cookies:?}"
    );

    let status = app.tls_status.current();
    assert_eq!(status.mode, "files");
    assert!(status.not_after.is_some());

    let redirect = app.redirect_addr.unwrap();
    let plain = client
        .get(format!(
            "http://localhost:{}/admin/system?x=1",
            redirect.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 308);
    assert_eq!(
        plain.headers()["location"].to_str().unwrap(),
        format!("https://localhost:{port}/admin/system?x=1")
    );
    app.stop().await;
}

#[test]
fn unusable_certificate_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, _key_path, _) = self_signed(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, other_key, _) = self_signed(other.path());
    let err = hearth::tls::prepare(&TlsSettings::Files {
        cert_path: cert_path.clone(),
        key_path: other_key,
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("cannot be used together"), "{err}");
    let err = hearth::tls::prepare(&TlsSettings::Files {
        cert_path: dir.path().join("missing.pem"),
        key_path: cert_path,
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("missing.pem"), "{err}");
}

/// Connections that never finish their handshake hold at most `tls.max_handshakes` slots;
/// the rest wait in the kernel's queue, and once the slots free up, real clients get in.
#[tokio::test]
async fn handshakes_in_progress_are_capped() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_path, key_path, cert_pem) = self_signed(certs.path());
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.tls.settings = TlsSettings::Files {
            cert_path,
            key_path,
        };
        c.tls.max_handshakes = 2;
    })
    .await;
    let status = app.tls_status.clone();
    let wait_for = |n: usize| {
        let status = status.clone();
        async move {
            tokio::time::timeout(std::time::Duration::from_secs(10), async {
                while status.handshakes_in_progress() != n {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("the handshake count settles")
        }
    };
    let mut silent = Vec::new();
    for _ in 0..6 {
        silent.push(tokio::net::TcpStream::connect(app.addr).await.unwrap());
    }
    wait_for(2).await;
    for _ in 0..1000 {
        tokio::task::yield_now().await;
        assert!(status.handshakes_in_progress() <= 2, "the cap holds");
    }
    drop(silent);
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://localhost:{}/healthz", app.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    wait_for(0).await;
    app.stop().await;
}
