//! `sealdrop serve`: settings it refuses.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::sealdrop;

/// Runs `sealdrop serve` with only `env` and `args` (and a free port in a temporary data
/// folder) and returns its error output once it has exited unsuccessfully; fails if it is
/// still running after 60 seconds, i.e. if it accepted the settings.
fn serve_refuses(env: &[(&str, &str)], args: &[&str]) -> String {
    let data = tempfile::tempdir().expect("temporary data folder");
    let mut child = sealdrop()
        .arg("serve")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SEALDROP_LISTEN", "127.0.0.1:0")
        .env("SEALDROP_DATA_DIR", data.path())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sealdrop serve");
    let started = Instant::now();
    while child.try_wait().expect("wait for sealdrop").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().expect("stop sealdrop");
            let _ = child.wait();
            panic!("sealdrop serve started with {env:?} {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("sealdrop output");
    assert!(!out.status.success(), "{env:?} {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn widget_limits_are_server_settings_under_their_environment_names() {
    let out = sealdrop()
        .args(["serve", "--help"])
        .output()
        .expect("run sealdrop serve --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let settings = [
        (
            "--widget-packages-per-ip-hour",
            "SEALDROP_WIDGET_PACKAGES_PER_IP_HOUR",
        ),
        (
            "--widget-packages-per-tenant-hour",
            "SEALDROP_WIDGET_PACKAGES_PER_TENANT_HOUR",
        ),
        ("--widget-quota-bytes", "SEALDROP_WIDGET_QUOTA_BYTES"),
        ("--widget-abandoned-secs", "SEALDROP_WIDGET_ABANDONED_SECS"),
    ];
    for (flag, variable) in settings {
        assert!(
            help.contains(flag) && help.contains(variable),
            "serve --help lists {flag} and {variable}:\n{help}"
        );
        // A bad value in the environment stops the server with a message naming the setting,
        // where it used to be ignored with a warning.
        for bad in ["0", "lots"] {
            let error = serve_refuses(&[(variable, bad)], &[]);
            assert!(
                error.contains(flag)
                    && error.contains(variable)
                    && error.contains("positive integer"),
                "{variable}={bad}: {error}"
            );
        }
    }
    let error = serve_refuses(&[], &["--widget-quota-bytes", "100GiB"]);
    assert!(
        error.contains("--widget-quota-bytes") && error.contains("positive integer"),
        "{error}"
    );
}
