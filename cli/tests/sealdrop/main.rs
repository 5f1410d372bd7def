//! The `sealdrop` command as an operator and a sender use it: the real binary, run as a child
//! process, against a real server it starts itself (`sealdrop serve`).
//!
//! Like the server's suite, these tests use SQLite and a local folder by default, and the
//! Postgres and S3 named by `SEALDROP_TEST_DATABASE_URL` and `SEALDROP_TEST_S3_*` when set
//! (`cargo xtask test --only server-pg-s3`).

mod admin;
mod serve;
mod support;
mod transfer;
