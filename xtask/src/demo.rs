//! `cargo xtask demo`: the server on the embedded default (SQLite + local folder + outbox
//! mail) plus, once it is in the workspace, the Zendesk simulator hosting a Help Center
//! request page and the agent sidebar, all on 127.0.0.1.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cleanup::{self, Guard};
use crate::proc::{self, repo_root, target_dir};
use crate::services;
use crate::wasm;

const USAGE: &str = "\
USAGE
    cargo xtask demo [--port PORT] [--fresh]

Builds and starts the sealdrop server on the embedded default: SQLite and a blob folder in
a data folder under the cargo target folder, mail written to an outbox folder there instead
of being sent. When the Zendesk simulator (zendesk-sim/) is in the workspace it starts too,
hosting a Help Center request page and the agent sidebar. Ctrl-C stops everything.

OPTIONS
    --port PORT   Port for the server (default 8080, or a free one if 8080 is taken).
    --fresh       Start with an empty data folder (forget earlier demo packages).
";

const SIM_PACKAGE: &str = "zendesk-sim";

pub fn main(args: &[String]) -> Result<()> {
    let mut port = None;
    let mut fresh = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--fresh" => fresh = true,
            "--port" => {
                let value = args.next().context("--port needs a number")?;
                port = Some(value.parse::<u16>().context("--port needs a number")?);
            }
            other => {
                print!("{USAGE}");
                bail!("unknown option `{other}`");
            }
        }
    }

    let with_sim = repo_root().join(SIM_PACKAGE).join("Cargo.toml").is_file();
    // The same build as `cargo xtask test` (binaries and tests, one feature resolution), so
    // that running one command after the other compiles nothing twice.
    if crate::testbuild::build()?.is_none() {
        bail!("the build failed (errors above)");
    }
    // The recipient page, the widget and the agent app load the browser package.
    if let Err(err) = wasm::build() {
        println!("xtask: warning: the browser package did not build ({err:#}); pages that encrypt or decrypt in the browser will not work");
    }

    let demo_dir = target_dir().join("demo");
    let data_dir = demo_dir.join("data");
    if fresh && data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("removing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&data_dir)?;
    let bin_dir = target_dir().join("debug");
    // Inside the data folder, so that a fresh (or deleted) folder means a fresh tenant too.
    let token_file = data_dir.join("demo-tenant-token");
    if !token_file.is_file() {
        create_demo_tenant(&bin_dir.join("sealdrop"), &data_dir, &token_file)?;
    }

    let port = match port {
        Some(port) => port,
        None => preferred_port(8080)?,
    };
    let server_url = format!("http://127.0.0.1:{port}");

    // The simulator starts first: it makes the ZAF signing key the server must trust. It frames
    // the agent sidebar from the Zendesk app package, as Zendesk does, on an origin of its own
    // (docs/ZENDESK.md "Sidebar from the app package").
    let sim = if with_sim {
        let sim_port = preferred_port(8090)?;
        let apps_port = preferred_port(8091)?;
        let app_dir = crate::zendesk_app::assemble::assemble(
            &demo_dir.join("agent-app"),
            Some("127.0.0.1"),
            &repo_root().join("widget-wasm/pkg"),
        )?;
        let key_file = demo_dir.join("zendesk-sim-public-key.pem");
        let _ = std::fs::remove_file(&key_file);
        let sim = spawn(
            "the Zendesk simulator",
            Command::new(bin_dir.join("zendesk-sim"))
                .args(["--listen", &format!("127.0.0.1:{sim_port}")])
                .args(["--sealdrop-url", &format!("{server_url}/")])
                .arg("--app-dir")
                .arg(&app_dir)
                .args(["--apps-listen", &format!("127.0.0.1:{apps_port}")])
                .arg("--auto-approve"),
            // It prints its ZAF public key on stdout; the server verifies sign-ins with it.
            Some(&key_file),
        )?;
        proc::wait_for_port(sim_port, Duration::from_secs(30), "the Zendesk simulator")?;
        wait_for_key(&key_file)?;
        Some((sim, sim_port, key_file, apps_port))
    } else {
        None
    };

    let mut serve = Command::new(bin_dir.join("sealdrop"));
    serve
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--public-url", &format!("{server_url}/")])
        .env_remove("DATABASE_URL")
        .envs(proc::web_env())
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        );
    if let Some((_, sim_port, key_file, apps_port)) = &sim {
        serve
            .env(
                "SEALDROP_ZENDESK_BASE_URL",
                format!("http://127.0.0.1:{sim_port}/"),
            )
            .env("SEALDROP_ZENDESK_APP_PUBLIC_KEY", key_file)
            .env(
                "SEALDROP_ZENDESK_APP_ORIGINS",
                format!("http://127.0.0.1:{apps_port}"),
            );
    }
    let server = spawn("the sealdrop server", &mut serve, None)?;
    wait_healthy(&server, port)?;

    // Play the admin's first visit (tenant, API grant, Help Center origin, widget key), so the
    // Help Center page works at once.
    if let Some((_, sim_port, _, _)) = &sim {
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        match crate::demo_setup::connect(&server_url, &sim_url) {
            Ok(_) => println!("xtask: the simulated Zendesk account is connected (API access granted, Help Center origin {sim_url} allowed)"),
            Err(err) => println!("xtask: warning: could not connect the simulated Zendesk account ({err:#}); open the ticket as the admin and follow the sidebar's set-up steps"),
        }
        // The app's shared secret, as the operator hands it to the Zendesk admin, who enters
        // it in the app's settings (a secure setting: the simulator keeps it from the browser).
        match app_secret(&bin_dir.join("sealdrop"), &data_dir)
            .and_then(|secret| crate::demo_setup::set_app_secret(&sim_url, &secret))
        {
            Ok(()) => println!(
                "xtask: the app's shared secret is in the simulated installation's settings"
            ),
            Err(err) => println!("xtask: warning: the packaged sidebar cannot sign in ({err:#})"),
        }
    }

    println!("\n{}", "=".repeat(78));
    println!("sealdrop demo is running (Ctrl-C stops it)\n");
    println!("  server         {server_url}/   (health: {server_url}/healthz)");
    println!("  data folder    {}", data_dir.display());
    println!(
        "  API token      in {}   (tenant \"Demo Support\"; Authorization: Bearer <token>)",
        token_file.display()
    );
    println!(
        "  outbox mail    {}   (verification codes land here)",
        data_dir.join("outbox").display()
    );
    match &sim {
        Some((_, sim_port, _, _)) => {
            let sim_url = format!("http://127.0.0.1:{sim_port}");
            println!("  Help Center    {sim_url}/hc/en-us/requests/new   (customer: attach files to a request; Zendesk's Copenhagen theme)");
            println!("                 {sim_url}/hc/en-us/requests/new?markup=classic   (the same in an older theme's markup)");
            println!("  agent sidebar  {sim_url}/   (open the demo ticket listed there: the sidebar runs the agent app)");
        }
        None => println!(
            "  (the Zendesk simulator is not in the workspace yet: when zendesk-sim/ exists,\n   \
             this command also starts it with a Help Center page and the agent sidebar)"
        ),
    }
    println!("{}", "=".repeat(78));

    // Run until Ctrl-C (the handler stops both children) or until a child gives up.
    loop {
        if cleanup::interrupted() {
            return Ok(());
        }
        if let Some(status) = exited(&server) {
            bail!("the sealdrop server exited ({status}); its log is above");
        }
        if let Some((sim, _, _, _)) = &sim {
            if let Some(status) = exited(sim) {
                bail!("the Zendesk simulator exited ({status}); its log is above");
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The simulated account's app shared secret (`sealdrop admin tenant app-secret acme`), made
/// once and read again on later starts.
fn app_secret(sealdrop: &Path, data_dir: &Path) -> Result<String> {
    let out = Command::new(sealdrop)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["tenant", "app-secret", "acme"])
        .output()
        .context("running sealdrop admin tenant app-secret")?;
    if !out.status.success() {
        bail!(
            "sealdrop admin tenant app-secret failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8(out.stdout).context("the app secret is not text")?;
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_owned)
        .context("sealdrop admin tenant app-secret printed nothing")
}

/// Creates the demo tenant and keeps its API token in a file only the owner can read (the
/// token is a credential: it is never printed).
fn create_demo_tenant(sealdrop: &Path, data_dir: &Path, token_file: &Path) -> Result<()> {
    let out = Command::new(sealdrop)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["tenant", "create", "Demo Support"])
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .context("running `sealdrop admin tenant create`")?;
    if !out.status.success() {
        bail!(
            "`sealdrop admin tenant create` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(token_file)
        .with_context(|| format!("writing {}", token_file.display()))?;
    writeln!(file, "{token}")?;
    Ok(())
}

/// `port` if it is free on 127.0.0.1, else any free port.
fn preferred_port(port: u16) -> Result<u16> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(port),
        Err(_) => {
            let other = proc::free_port()?;
            println!("xtask: port {port} is taken; using {other}");
            Ok(other)
        }
    }
}

struct Running {
    child: Arc<Mutex<Child>>,
    _guard: Guard,
}

/// Starts `cmd` in its own process group (so Ctrl-C reaches xtask, which stops it with
/// SIGTERM), logs to our terminal, stdout optionally into a file.
/// Waits until the simulator has written its public key (it prints it right after binding).
fn wait_for_key(key_file: &Path) -> Result<()> {
    for _ in 0..100 {
        if std::fs::read_to_string(key_file).is_ok_and(|pem| pem.contains("END PUBLIC KEY")) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "the Zendesk simulator did not print its public key to {}",
        key_file.display()
    )
}

fn spawn(what: &str, cmd: &mut Command, stdout_to: Option<&Path>) -> Result<Running> {
    println!("$ {}", proc::display(cmd));
    if let Some(path) = stdout_to {
        cmd.stdout(File::create(path)?);
    }
    let child = cmd
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let child = Arc::new(Mutex::new(child));
    let guard = {
        let child = child.clone();
        Guard::new(what, move || {
            if let Ok(mut child) = child.lock() {
                services::stop_child(&mut child, Duration::from_secs(10));
            }
        })
    };
    Ok(Running {
        child,
        _guard: guard,
    })
}

fn exited(running: &Running) -> Option<std::process::ExitStatus> {
    running.child.lock().ok()?.try_wait().ok()?
}

/// Waits for `GET /healthz` to answer 200.
fn wait_healthy(server: &Running, port: u16) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(status) = exited(server) {
            bail!("the sealdrop server exited during start-up ({status}); its log is above");
        }
        if http_status(port, "/healthz") == Some(200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the sealdrop server did not answer GET /healthz on 127.0.0.1:{port} within 60 s")
}

/// The status code of a plain HTTP/1.1 GET to 127.0.0.1, or None if it does not answer.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    text.split_whitespace().nth(1)?.parse().ok()
}
