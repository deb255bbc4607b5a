//! Debian's headless Chromium for the portal's browser tests, two ways.
//!
//! - [`run_chromium`]: one process per page (`--dump-dom`, `--screenshot`),
//!   for reading what a page says.
//! - [`Browser`]: one Chromium driven over the DevTools protocol (CDP) on
//!   its WebSocket, for using the portal as people do: pages loaded, buttons
//!   clicked with the mouse, text typed, Tab and Enter pressed, screenshots
//!   taken. The clicks and keys are Chromium's own input events and the
//!   forms are submitted by Chromium with the headers it chooses
//!   (`Sec-Fetch-Site`, `Origin`), so the portal's checks meet a real
//!   browser, not a request written to pass them.
//!
//! The driver is a few CDP commands (`Target`, `Page`, `Network`, `Runtime`,
//! `Input`) over `tokio-tungstenite`, with no browser-automation library:
//! those download their own browser builds, which this machine cannot.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one page load or CDP answer may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// The Chromium on `PATH`; without one the test fails, saying how to get it
/// (a browser test that skips silently proves nothing).
pub fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let p = dir.join(name);
                if p.is_file() {
                    return p;
                }
            }
        }
    }
    panic!(
        "Chromium is not installed: the portal browser tests need it. Run scripts/setup-test-deps.sh \
         as root (it installs Debian's `chromium` with apt-get), or install chromium yourself."
    );
}

/// Headless, quiet, no first-run or background traffic; `--no-sandbox`
/// because CI runs as root in a container.
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// Runs headless Chromium with a fresh profile and the given final
/// arguments; its standard output.
pub fn run_chromium(args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One headless Chromium with one tab, driven over CDP. Dropping it ends
/// the process.
pub struct Browser {
    child: Child,
    ws: Socket,
    /// The tab's CDP session (flat mode: every command names it).
    session: String,
    next_id: u64,
    /// Events read while waiting for an answer, in arrival order.
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a debugging port chosen by the system (read back
    /// from the profile's `DevToolsActivePort`), opens a tab and attaches.
    pub async fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium())
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args([
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "--window-size=1280,1600",
                "--hide-scrollbars",
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let active = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&active) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.to_string(), path.to_string());
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromium wrote no DevToolsActivePort"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}{path}"))
            .await
            .expect("connect to chromium's DevTools socket");
        let mut browser = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            _profile: profile,
        };
        let target = browser
            .send(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await["targetId"]
            .clone();
        let attached = browser
            .send(
                None,
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.call("Page.enable", json!({})).await;
        browser.call("Network.enable", json!({})).await;
        browser
    }

    /// Sends one command and waits for its answer, keeping the events that
    /// arrive meanwhile. A CDP error fails the test with the command named.
    async fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        loop {
            let v = self.read(method).await;
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("CDP {method}: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    async fn read(&mut self, waiting_for: &str) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("chromium said nothing for a minute ({waiting_for})"))
                .expect("chromium closed its DevTools socket")
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// A command to the tab.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params).await
    }

    /// Waits for the next event named `method` (kept or still to come).
    async fn wait_event(&mut self, method: &str) -> Value {
        while let Some(e) = self.events.pop_front() {
            if e["method"] == method {
                return e;
            }
        }
        loop {
            let v = self.read(method).await;
            if v["method"] == method {
                return v;
            }
        }
    }

    /// Headers added to every request from now on: what an authenticating
    /// proxy in front of the portal adds for the person signed in.
    pub async fn set_headers(&mut self, headers: &[(&str, &str)]) {
        let map: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.call("Network.setExtraHTTPHeaders", json!({"headers": map}))
            .await;
    }

    /// Loads `url` and waits for the page's load event.
    pub async fn goto(&mut self, url: &str) {
        self.events.clear();
        let r = self.call("Page.navigate", json!({"url": url})).await;
        assert!(r.get("errorText").is_none(), "navigate to {url}: {r}");
        self.wait_event("Page.loadEventFired").await;
    }

    /// Evaluates `js` in the page; its value (awaited when a promise). A
    /// thrown exception fails the test.
    pub async fn eval(&mut self, js: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{js}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// The page's text as a person sees it.
    pub async fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's address.
    pub async fn url(&mut self) -> String {
        self.eval("location.href")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether `selector` matches anything on the page.
    pub async fn has(&mut self, selector: &str) -> bool {
        self.eval(&format!(
            "document.querySelector({}) !== null",
            json!(selector)
        ))
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// A left click with the mouse in the middle of the element `selector`
    /// (scrolled into view first), as Chromium's own input events.
    pub async fn click(&mut self, selector: &str) {
        let at = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return null; \
                 e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
                json!(selector)
            ))
            .await;
        let (x, y) = match (at[0].as_f64(), at[1].as_f64()) {
            (Some(x), Some(y)) => (x, y),
            _ => panic!("nothing to click at {selector} on {}", self.url().await),
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// Clicks `selector` and waits for the page that follows (a form's
    /// post/redirect/get ends in one load).
    pub async fn click_and_load(&mut self, selector: &str) {
        self.events.clear();
        self.click(selector).await;
        self.wait_event("Page.loadEventFired").await;
    }

    /// Presses and releases a key: `Tab`, `Shift+Tab` or `Enter`.
    pub async fn key(&mut self, key: &str) {
        let (name, code, text, modifiers) = match key {
            "Tab" => ("Tab", 9, "", 0),
            "Shift+Tab" => ("Tab", 9, "", 8),
            "Enter" => ("Enter", 13, "\r", 0),
            other => panic!("no key {other} in this driver"),
        };
        let mut down = json!({"type": "keyDown", "key": name, "code": name,
            "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code, "modifiers": modifiers});
        if !text.is_empty() {
            down["text"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", down).await;
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": name, "code": name,
                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code, "modifiers": modifiers}),
        )
        .await;
    }

    /// Presses Enter and waits for the page that follows.
    pub async fn enter_and_load(&mut self) {
        self.events.clear();
        self.key("Enter").await;
        self.wait_event("Page.loadEventFired").await;
    }

    /// Types `text` where the focus is (replacing a selection), as an input
    /// method would.
    pub async fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// What has the keyboard focus: `tag "label"`, the label being the
    /// element's text, else its accessible name or field name.
    pub async fn focused(&mut self) -> String {
        self.eval(
            "(() => { const e = document.activeElement; if (!e) return ''; \
             const name = (e.innerText || e.getAttribute('aria-label') || \
             (e.labels && e.labels[0] && e.labels[0].innerText) || e.name || '').trim(); \
             return e.tagName.toLowerCase() + ' \"' + name + '\"'; })()",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Presses Tab until the focus is on `want` (as [`Browser::focused`]
    /// says it), at most `limit` times; the stops passed on the way.
    pub async fn tab_to(&mut self, want: &str, limit: usize) -> Vec<String> {
        let mut stops = Vec::new();
        for _ in 0..limit {
            self.key("Tab").await;
            let now = self.focused().await;
            let done = now == want;
            stops.push(now);
            if done {
                return stops;
            }
        }
        panic!("{want} not reached with {limit} Tabs; the stops: {stops:#?}");
    }

    /// A PNG of the whole page (beyond the window) at `path`; its bytes.
    pub async fn screenshot(&mut self, path: &Path) -> Vec<u8> {
        let r = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, &png).unwrap();
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
