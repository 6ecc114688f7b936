//! A real browser for console tests: Debian's headless Chromium driven through its
//! chromedriver, or Debian's Firefox ESR through geckodriver (WebDriver), with fantoccini.
//! Each browser has its own driver process and profile; every screen a test visits can be
//! saved under `target/screenshots/<test>/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// Where chromedriver and Chromium live (Debian's `chromium-driver` and `chromium`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `firefox-esr`; geckodriver comes from crates.io (`cargo install geckodriver`).
const FIREFOX: &str = "/usr/bin/firefox-esr";

/// Which browser drives the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Firefox,
}

/// geckodriver: on `PATH`, or where `cargo install` puts it.
fn geckodriver() -> String {
    let installed = std::env::var("HOME")
        .map(|home| format!("{home}/.cargo/bin/geckodriver"))
        .unwrap_or_default();
    if std::path::Path::new(&installed).exists() {
        installed
    } else {
        "geckodriver".to_owned()
    }
}

/// How long a test waits for something the page must show.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

pub struct Browser {
    pub client: Client,
    base: String,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    taken: AtomicU32,
}

/// A window size: a laptop, or a phone held upright.
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    Desktop,
    Phone,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that asks for `accept_language`, for the
    /// console at `base` (e.g. `http://127.0.0.1:PORT`); screenshots go to
    /// `target/screenshots/<test>/`.
    pub async fn start(test: &str, base: &str, accept_language: &str, screen: Screen) -> Self {
        Self::start_with(Engine::Chromium, test, base, accept_language, screen).await
    }

    /// [`Browser::start`] with the browser of choice.
    #[allow(clippy::expect_used)]
    pub async fn start_with(
        engine: Engine,
        test: &str,
        base: &str,
        accept_language: &str,
        screen: Screen,
    ) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("port").port()
        };
        let mut command = match engine {
            Engine::Chromium => {
                let mut command = tokio::process::Command::new(CHROMEDRIVER);
                command.arg(format!("--port={port}"));
                command
            }
            Engine::Firefox => {
                let mut command = tokio::process::Command::new(geckodriver());
                command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
                command
            }
        };
        let driver = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the WebDriver server (deploy/test.sh installs chromedriver and geckodriver)");
        let webdriver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        crate::eventually(Duration::from_secs(20), "chromedriver is up", || {
            let http = http.clone();
            let url = format!("{webdriver}/status");
            async move {
                let ready = http
                    .get(&url)
                    .send()
                    .await
                    .ok()?
                    .json::<Value>()
                    .await
                    .ok()?;
                ready["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        let profile = tempfile::tempdir().expect("a profile directory");
        let (width, height) = match screen {
            Screen::Desktop => (1280, 900),
            Screen::Phone => (390, 844),
        };
        let primary = accept_language.split([',', ';']).next().unwrap_or("en");
        let mut capabilities = serde_json::Map::new();
        if engine == Engine::Firefox {
            capabilities.insert(
                "moz:firefoxOptions".into(),
                json!({
                    "binary": FIREFOX,
                    "args": ["-headless", format!("--width={width}"), format!("--height={height}")],
                    "prefs": {"intl.accept_languages": accept_language},
                }),
            );
        } else {
            capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    format!("--lang={primary}"),
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {"intl.accept_languages": accept_language},
            }),
            );
        }
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        let shots = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/screenshots"
        ))
        .join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("the screenshot folder");
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            _profile: profile,
            shots,
            taken: AtomicU32::new(0),
        }
    }

    /// Opens a console path (`/orders`).
    #[allow(clippy::expect_used)]
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigation");
    }

    /// The current path and query.
    #[allow(clippy::expect_used)]
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Saves a screenshot named `NN-label.png`.
    #[allow(clippy::expect_used)]
    pub async fn shot(&self, label: &str) {
        let n = self.taken.fetch_add(1, Ordering::Relaxed) + 1;
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{n:02}-{label}.png")), png)
            .expect("the screenshot saved");
    }

    /// The element `css` once it exists.
    #[allow(clippy::expect_used)]
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no {css} on {}: {err}", self.base))
    }

    /// Whether `css` is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// The visible text of `css` now, if it is there (a page being replaced has none).
    pub async fn try_text(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    /// The visible text of `css`, once it is on the page.
    pub async fn text(&self, css: &str) -> String {
        crate::eventually(PAGE_WAIT, &format!("the text of {css}"), || {
            self.try_text(css)
        })
        .await
    }

    /// The whole page's visible text.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Types `value` into the field `css` (cleared first).
    #[allow(clippy::expect_used)]
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("typing");
    }

    #[allow(clippy::expect_used)]
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Picks `value` in the select `css`.
    #[allow(clippy::expect_used)]
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .expect("select");
    }

    /// Runs `script` with `args` in the page.
    #[allow(clippy::expect_used)]
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.expect("script")
    }

    /// Waits until the page's text contains `wanted`, reloading `path` between looks when
    /// given (for pages that do not update by themselves).
    pub async fn wait_for_text(&self, wanted: &str, reload: Option<&str>) {
        crate::eventually(PAGE_WAIT, &format!("the page shows {wanted:?}"), || async {
            if let Some(path) = reload {
                self.open(path).await;
            }
            self.try_text("body").await?.contains(wanted).then_some(())
        })
        .await;
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
