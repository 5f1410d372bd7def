//! Stop what we started on every exit path: normal return, error, Ctrl-C, SIGTERM, SIGHUP.
//!
//! Services register a stop action here when they start and run it themselves when dropped;
//! the signal handler runs whatever is still registered and exits. Each action runs at most
//! once because it is removed from the registry before it runs.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

type Action = Box<dyn FnOnce() + Send>;

static ACTIONS: Mutex<BTreeMap<u64, (String, Action)>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Process id of the foreground command (cargo test, node ...), 0 when there is none. It
/// leads its own process group (see `proc`), so stopping the group stops rustc, test
/// executables and browsers it started too.
static FOREGROUND: AtomicU32 = AtomicU32::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Held while an action runs, so that the main thread does not exit (and kill the signal
/// handler's thread) half-way through a clean-up the handler started, and vice versa.
static RUNNING: Mutex<()> = Mutex::new(());

/// A registered stop action; dropping the guard runs it.
#[derive(Debug)]
pub struct Guard {
    id: u64,
}

impl Guard {
    /// Registers `action` (described by `what` in messages) to run when the guard drops or
    /// the process is interrupted, whichever comes first.
    pub fn new(what: impl Into<String>, action: impl FnOnce() + Send + 'static) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        lock().insert(id, (what.into(), Box::new(action)));
        Self { id }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        run_one(self.id);
    }
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<u64, (String, Action)>> {
    // A panic inside an action must not keep the others from running.
    ACTIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run_one(id: u64) {
    let _running = RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let entry = lock().remove(&id);
    if let Some((_, action)) = entry {
        action();
    }
}

/// Runs every registered action, newest first (a service started later may depend on one
/// started earlier). Returns only when no action is left or running, on any thread.
pub fn run_all() {
    loop {
        let _running = RUNNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = lock().pop_last();
        match next {
            Some((_, (_, action))) => action(),
            None => break,
        }
    }
}

/// True once Ctrl-C (or SIGTERM/SIGHUP) arrived; stages stop starting new work.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records the running foreground command so that a SIGTERM sent to xtask alone reaches it.
pub fn set_foreground(pid: Option<u32>) {
    FOREGROUND.store(pid.unwrap_or(0), Ordering::SeqCst);
}

pub fn install_signal_handler() {
    let installed = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C while cleaning up: give up waiting.
            std::process::exit(130);
        }
        eprintln!("\nxtask: interrupted; stopping services and removing temporary folders ...");
        let pid = FOREGROUND.load(Ordering::SeqCst);
        if pid != 0 {
            // Ctrl-C in a terminal already reached it (same process group); SIGTERM from a
            // supervisor did not. Either way it must stop before we remove its folders.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        run_all();
        std::process::exit(130);
    });
    if let Err(err) = installed {
        eprintln!(
            "xtask: warning: cannot handle Ctrl-C ({err}); services may outlive an interrupt"
        );
    }
}
