//! The request forms in headless Chromium (through chromedriver's WebDriver API): the React
//! form submits what its state holds, the classic form what its DOM holds. This is the trap
//! the Help Center widget must handle, so the fixture itself is tested here.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Option<Driver> {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/local/bin/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut driver = Driver {
            child,
            base,
            session: String::new(),
            http,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        }}}});
        let started = Instant::now();
        loop {
            if let Ok(r) = driver
                .http
                .post(format!("{}/session", driver.base))
                .json(&caps)
                .send()
                .await
            {
                let v: Value = r.json().await.ok()?;
                driver.session = v["value"]["sessionId"].as_str()?.to_string();
                return Some(driver);
            }
            if started.elapsed() > Duration::from_secs(20) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn goto(&self, url: &str) {
        self.http
            .post(format!("{}/session/{}/url", self.base, self.session))
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("navigate");
    }

    async fn run(&self, script: &str) -> Value {
        let v: Value = self
            .http
            .post(format!(
                "{}/session/{}/execute/sync",
                self.base, self.session
            ))
            .json(&json!({"script": script, "args": []}))
            .send()
            .await
            .expect("execute")
            .json()
            .await
            .expect("json");
        v["value"].clone()
    }

    async fn wait_for(&self, script: &str) {
        let started = Instant::now();
        while self.run(script).await != json!(true) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "timed out waiting for {script}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sets a field the way a user's typing does, so React's onChange sees it.
const SET_LIKE_TYPING: &str = r#"
function setLikeTyping(el, value) {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}
"#;

async fn submit_and_wait(
    d: &Driver,
    sim: &zendesk_sim::Sim,
    form_selector: &str,
) -> zendesk_sim::Ticket {
    let before = sim.tickets().len();
    let data = d
        .run(&format!("return JSON.stringify(Array.from(new FormData(document.querySelector('{form_selector}'))));"))
        .await;
    eprintln!("submitting {data}");
    d.run(&format!(
        "document.querySelector('{form_selector}').requestSubmit(); return true;"
    ))
    .await;
    let started = Instant::now();
    loop {
        let tickets = sim.tickets();
        if tickets.len() > before {
            return tickets.last().cloned().expect("a new ticket");
        }
        if started.elapsed() > Duration::from_secs(15) {
            let page = d
                .run("return document.location.href + ' ' + document.body.innerText.slice(0, 300);")
                .await;
            panic!("the form did not create a ticket; the browser shows {page}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn react_form_submits_its_state_and_classic_form_its_dom() {
    let Some(d) = Driver::start().await else {
        eprintln!(
            "SKIPPED: chromedriver and /usr/bin/chromium are needed for the browser form test"
        );
        return;
    };
    let w = common::world(None).await;
    let page = w
        .sim
        .base_url()
        .join("hc/en-us/requests/new")
        .expect("url")
        .to_string();
    let ready = "return !!document.querySelector('#new-request-form textarea');";
    let fill = format!(
        r#"{SET_LIKE_TYPING}
        const root = document.getElementById('new-request-form');
        setLikeTyping(root.querySelector('input[type=email]'), 'erin@customer.example');
        setLikeTyping(root.querySelector('input[name="request[subject]"]'), 'Scans');
        setLikeTyping(root.querySelector('textarea'), 'typed text');
        return true;"#
    );

    // A script that only changes the DOM value: React's state, and so the submission, miss it.
    d.goto(&page).await;
    d.wait_for(ready).await;
    d.run(&fill).await;
    d.run("document.querySelector('#new-request-form textarea').value += ' LINK'; return true;")
        .await;
    let t = submit_and_wait(&d, &w.sim, "#new-request-form form").await;
    assert_eq!(
        t.description, "typed text",
        "the DOM-only change is lost in the React form"
    );
    assert_eq!(t.ticket_form_id, Some(360_000_001));

    // The same change made the way typing is: React keeps it and submits it.
    d.goto(&page).await;
    d.wait_for(ready).await;
    d.run(&fill).await;
    d.run(&format!(
        "{SET_LIKE_TYPING} const ta = document.querySelector('#new-request-form textarea'); setLikeTyping(ta, ta.value + ' LINK'); return true;"
    ))
    .await;
    d.run(&format!(
        "{SET_LIKE_TYPING} const s = document.querySelector('#new-request-form select'); s.value = '360000002'; s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
    ))
    .await;
    let t = submit_and_wait(&d, &w.sim, "#new-request-form form").await;
    assert_eq!(t.description, "typed text LINK");
    assert_eq!(t.ticket_form_id, Some(360_000_002));

    // The classic form posts its DOM as it is.
    d.goto(&format!("{page}?markup=classic")).await;
    d.wait_for("return !!document.getElementById('request_description');")
        .await;
    d.run(
        "document.getElementById('request_anonymous_requester_email').value = 'erin@customer.example';
         document.getElementById('request_subject').value = 'Scans';
         document.getElementById('request_description').value = 'classic text LINK';
         return true;",
    )
    .await;
    let t = submit_and_wait(&d, &w.sim, "form#new_request").await;
    assert_eq!(t.description, "classic text LINK");
}
