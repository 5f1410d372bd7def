//! The `sealdrop` binary; everything lives in the library (`sealdrop_server::cli`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sealdrop_server::cli::main()
}
