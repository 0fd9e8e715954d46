//! `TestApp::spawn()`: a real Hearth on 127.0.0.1:0 with a temp data dir and a manual clock.

use std::sync::Arc;

use hearth::app::{App, Listeners};
use hearth::clock::ManualClock;
use hearth::config::Config;
use hearth::jobs::Registry;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub addr: std::net::SocketAddr,
    /// The plain-HTTP redirect listener, when TLS is on.
    pub redirect_addr: Option<std::net::SocketAddr>,
    pub setup_link: Option<String>,
    pub clock: Arc<ManualClock>,
    pub queue: hearth::jobs::JobQueue,
    /// The search service, to index what is pending without waiting for the indexer.
    pub search: hearth::service::search::Search,
    /// The records service.
    pub records: hearth::service::records::Records,
    /// The app's store (for tests that look inside, e.g. for erased data).
    pub store: hearth::store::Store,
    /// The app's event bus (for tests that follow what happened).
    pub events: hearth::events::EventBus,
    pub tls_status: hearth::tls::TlsStatus,
    /// Held so the data directory lives as long as the app.
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), hearth::app::StartError>>>,
}

pub fn start_time() -> jiff::Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Registry::new(), |_| {}).await
    }

    pub async fn spawn_with(jobs: Registry, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_with_data_dir(dir.path().join("data")).unwrap();
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let custom_public_url = config.server.public_url.is_some();
        let clock = Arc::new(ManualClock::new(start_time()));
        let listeners = Listeners::bind(&config).await.unwrap();
        let addr = listeners.main.local_addr().unwrap();
        let redirect_addr = listeners.redirect.as_ref().map(|l| l.local_addr().unwrap());
        let reader = std::path::Path::new(env!("CARGO_BIN_EXE_hearth"));
        let app = App::build(config, clock.clone(), jobs, addr, reader)
            .await
            .unwrap();
        let mut setup_link = app.setup_link().await.unwrap();
        // The address the app gives out in links (`localhost` for a loopback listener), so
        // cookies set through a link and through `url()` belong to the same host; a test that
        // sets its own public URL still talks to the real listener.
        let base = if custom_public_url {
            format!("http://{addr}")
        } else {
            app.public_base.to_string()
        };
        if let Some(link) = &mut setup_link {
            *link = link.replacen(&*app.public_base, &base, 1);
        }
        let queue = app.queue.clone();
        let search = app.search();
        let records = app.records();
        let store = app.store.clone();
        let events = app.events.clone();
        let tls_status = app.tls_status.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(listeners, async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            addr,
            redirect_addr,
            setup_link,
            clock,
            queue,
            search,
            records,
            store,
            events,
            tls_status,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Indexes every pending change now (what the indexer does within a second or so).
    pub async fn index_search(&self) {
        while self.search.index_pending().await.unwrap() > 0 {}
    }

    /// The app's data directory (database, blobs, temp files).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client with its own cookie jar that does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Reads the CSRF token from a page's form.
    pub async fn csrf_from(client: &reqwest::Client, url: &str) -> String {
        let html = client.get(url).send().await.unwrap().text().await.unwrap();
        let re = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
        re.captures(&html).expect("page has a csrf field")[1].to_string()
    }

    /// Creates the owner through the setup page and signs in; returns the signed-in client.
    pub async fn owner_client(&self) -> reqwest::Client {
        let link = self.setup_link.clone().expect("fresh app has a setup link");
        let client = self.client();
        let csrf = Self::csrf_from(&client, &link).await;
        let resp = client
            .post(&link)
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", "owner"),
                ("email", "owner@example.test"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "setup: {}", resp.text().await.unwrap());
        self.sign_in(&client, "owner", PASSWORD).await;
        client
    }

    /// The CSRF token of `client`'s session, as `GET /api/v1/me` reports it.
    pub async fn api_csrf(&self, client: &reqwest::Client) -> String {
        let me: serde_json::Value = client
            .get(self.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        me["data"]["csrfToken"]
            .as_str()
            .expect("signed in")
            .to_string()
    }

    /// A fresh client signed in as the owner created by [`owner_client`](Self::owner_client).
    pub async fn owner_client_again(&self) -> reqwest::Client {
        let client = self.client();
        assert_eq!(self.sign_in(&client, "owner", PASSWORD).await.status(), 303);
        client
    }

    /// Posts the sign-up form at `path` (`/join` or `/join/{code}`) as `username`, from a
    /// fresh client; returns the response and that client.
    pub async fn join(&self, path: &str, username: &str) -> (reqwest::Response, reqwest::Client) {
        let client = self.client();
        let csrf = Self::csrf_from(&client, &self.url("/login")).await;
        let email = format!("{username}@example.test");
        let form = [
            ("csrf", csrf.as_str()),
            ("username", username),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        let resp = client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        (resp, client)
    }

    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        login: &str,
        password: &str,
    ) -> reqwest::Response {
        let csrf = Self::csrf_from(client, &self.url("/login")).await;
        client
            .post(self.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("login", login),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

pub const PASSWORD: &str = "a long and unusual passphrase";

/// Saves the admin settings form with the defaults except `fields`.
pub async fn save_settings(
    app: &TestApp,
    client: &reqwest::Client,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = TestApp::csrf_from(client, &app.url("/admin/settings")).await;
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", csrf.as_str()),
        ("site_name", "Hearth"),
        ("registration", "invite_only"),
        ("approval_queue_limit", "50"),
        ("api_requests_per_second", "20"),
        ("sign_in_attempts_per_15_minutes", "5"),
        ("sign_ups_per_hour", "10"),
        ("password_resets_per_hour", "5"),
    ];
    for (k, v) in fields {
        if let Some(slot) = form.iter_mut().find(|(name, _)| name == k) {
            slot.1 = v;
        }
    }
    let form: Vec<(String, String)> = form
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    client
        .post(app.url("/admin/settings"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Points the instance's mail at a plain SMTP server on loopback.
pub async fn configure_smtp(app: &TestApp, owner: &reqwest::Client, port: u16) {
    let csrf = TestApp::csrf_from(owner, &app.url("/admin/mail")).await;
    let port = port.to_string();
    let resp = owner
        .post(app.url("/admin/mail"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("smtp_host", "127.0.0.1"),
            ("smtp_port", port.as_str()),
            ("smtp_security", "none"),
            ("smtp_username", ""),
            ("smtp_password", ""),
            ("from", "Riverside Club <hearth@example.test>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
}

/// The first link to `{base}/{path}/…` in a received mail (quoted-printable soft breaks undone).
pub fn link_in(mail: &str, path: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let re = regex::Regex::new(&format!(r"http://localhost:\d+/{path}/[A-Za-z0-9_-]+")).unwrap();
    re.find(&joined)
        .unwrap_or_else(|| panic!("no /{path}/ link in:\n{mail}"))
        .as_str()
        .to_string()
}

/// GETs `url` with `client` and reads the body as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// GETs `url` with `client` and reads the body as text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}
