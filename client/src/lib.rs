//! # sealdrop-client
//!
//! The native sealdrop client: encrypts files on this machine, uploads the ciphertext in
//! resumable parts, and downloads and decrypts the files behind a secure link. The `sealdrop`
//! command's `send` and `get` (crate `sealdrop-cli`) are built on [`Client`], as are the
//! tests and benches.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sealdrop_client::ClientError> {
//! use std::path::PathBuf;
//! use sealdrop_client::{Client, Credential, GetOptions, NoProgress, SendOptions};
//!
//! let client = Client::new("https://sealdrop.example.com", Credential::ApiToken("sdt_...".into()))?;
//! let link = client
//!     .send(&[PathBuf::from("report.pdf")], SendOptions::default(), &NoProgress)
//!     .await?;
//! let saved = Client::get(&link, "downloads".as_ref(), GetOptions::default(), &NoProgress).await?;
//! # Ok(()) }
//! ```
//!
//! What travels where: the link secret `C` stays in the link's fragment and is never sent;
//! the server sees ciphertext, its sizes, and a proof derived from `C`. Nothing here logs a
//! secret, and every downloaded file is written as `NAME.….sealdrop-part` and renamed only
//! once every chunk has been authenticated.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod download;
mod error;
mod http;
mod media;
mod names;
mod output;
mod progress;
mod roots;
mod state;
mod upload;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sealdrop_crypto::SecureLink;
use zeroize::Zeroize;

pub use error::{ClientError, Result};
pub use http::RetryPolicy;
pub use names::sanitize_file_name;
pub use progress::{NoProgress, Progress};
pub use roots::ExtraRoots;
pub use state::default_state_dir;

/// The credential that may create packages.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A tenant API token (`sdt_…`), sent as `Authorization: Bearer`.
    ApiToken(String),
    /// An agent session (`sda_…`), sent as `Authorization: Bearer`.
    AgentSession(String),
    /// A public widget key (`sdw_…`), sent as `X-Sealdrop-Widget-Key`.
    WidgetKey(String),
}

impl Credential {
    pub(crate) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::ApiToken(token) | Credential::AgentSession(token) => {
                request.bearer_auth(token)
            }
            Credential::WidgetKey(key) => request.header("X-Sealdrop-Widget-Key", key),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::ApiToken(_) => "ApiToken(..)",
            Credential::AgentSession(_) => "AgentSession(..)",
            Credential::WidgetKey(_) => "WidgetKey(..)",
        })
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        match self {
            Credential::ApiToken(t) | Credential::AgentSession(t) | Credential::WidgetKey(t) => {
                t.zeroize()
            }
        }
    }
}

/// What the sender chooses for a package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Recipient email addresses (with `require_auth`, only they can get a code).
    pub recipients: Vec<String>,
    /// Require an emailed verification code before the files can be decrypted.
    pub require_auth: bool,
    /// How long the link works (the server clamps it to the tenant maximum).
    pub expires: Option<Duration>,
    /// How many downloads the link allows.
    pub max_downloads: Option<u32>,
    /// A message for the recipients, encrypted with the files.
    pub message: Option<String>,
}

/// How a verification code is obtained when the sender required one.
pub type CodePrompt = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the downloader brings.
#[derive(Default)]
pub struct GetOptions {
    /// A recipient session (`sdr_…`) from an earlier confirmation.
    pub recipient_session: Option<String>,
    /// The downloader's email address, to ask for a verification code.
    pub email: Option<String>,
    /// A verification code already received for `email`.
    pub code: Option<String>,
    /// Asked for the code (given the email address) after one was requested; `None` from
    /// the prompt gives up. Without a prompt and a code, the client requests a code and stops
    /// with [`ClientError::CodeSent`].
    pub prompt_code: Option<CodePrompt>,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// Certificate authorities trusted besides the built-in web roots.
    pub extra_roots: ExtraRoots,
}

impl fmt::Debug for GetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetOptions")
            .field(
                "recipient_session",
                &self.recipient_session.as_ref().map(|_| ".."),
            )
            .field("email", &self.email)
            .field("code", &self.code.as_ref().map(|_| ".."))
            .field("prompt_code", &self.prompt_code.is_some())
            .field("retry", &self.retry)
            .field("extra_roots", &self.extra_roots)
            .finish()
    }
}

/// Parts a sender uploads at once unless told otherwise ([`Client::with_parallel`],
/// `sealdrop send --parallel`). Six, measured with the transfer bench
/// (`SEALDROP_BENCH_PARALLEL`, 512 MiB, 2 rounds, one run each on the 2-core CI machine): a
/// part waits while the server receives and checks it and then while it stores it, and more
/// parts in flight hide that wait. Folder server: 551 MiB/s at 3 (0.79x `age -r` in the same
/// run), 737 at 6 (1.01x), 683 at 8; S3 (Garage): 158, 198, 196. Each part in flight holds
/// one 8 MiB buffer: the command's peak RSS went from 36 to 60 MiB, whatever the file's size.
pub const DEFAULT_PARALLEL: usize = 6;

/// A connection to one sealdrop server, for sending.
#[derive(Debug)]
pub struct Client {
    base: String,
    credential: Credential,
    http: reqwest::Client,
    retry: RetryPolicy,
    parallel: usize,
    state_dir: Option<PathBuf>,
}

impl Client {
    /// A client for `server_url` (e.g. `https://sealdrop.example.com`), with the default
    /// retry policy, [`DEFAULT_PARALLEL`] parts in flight, and resume state in [`default_state_dir`].
    pub fn new(server_url: &str, credential: Credential) -> Result<Self> {
        let base = server_url.trim().trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&base).map_err(|_| ClientError::InvalidServerUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(ClientError::InvalidServerUrl);
        }
        Ok(Client {
            base,
            credential,
            http: http_client(&ExtraRoots::default())?,
            retry: RetryPolicy::default(),
            parallel: DEFAULT_PARALLEL,
            state_dir: default_state_dir(),
        })
    }

    /// Sets how failed requests are retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Trusts these certificate authorities too, besides the built-in web roots: for a
    /// server whose certificate a private CA issued.
    pub fn with_extra_roots(mut self, roots: &ExtraRoots) -> Result<Self> {
        self.http = http_client(roots)?;
        Ok(self)
    }

    /// Sets how many parts are uploaded at once (at least 1).
    pub fn with_parallel(mut self, parts: usize) -> Self {
        self.parallel = parts.max(1);
        self
    }

    /// Sets where resume state is kept; `None` keeps none (an interrupted process then
    /// starts over, though failures within one run still resume).
    pub fn with_state_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.state_dir = dir;
        self
    }

    /// The server URL, without a trailing `/`.
    pub fn server_url(&self) -> &str {
        &self.base
    }

    /// Encrypts `files`, uploads them as one package and returns its secure link.
    ///
    /// Reads each file once, a part (8 MiB) at a time; at most `parallel` parts are held in
    /// memory. If an earlier run with the same files (same paths, sizes and modification
    /// times) and options was interrupted, it resumes that upload and sends only what the
    /// server lacks.
    pub async fn send(
        &self,
        files: &[PathBuf],
        options: SendOptions,
        progress: &dyn Progress,
    ) -> Result<SecureLink> {
        let result = upload::send(self, files, &options, progress).await;
        progress.finish();
        result
    }

    /// Downloads and decrypts every file of the package behind `link` into `out_dir`; returns
    /// the paths written, in the package's file order.
    ///
    /// The link secret never leaves this machine; only a proof derived from it is sent.
    pub async fn get(
        link: &SecureLink,
        out_dir: &Path,
        options: GetOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<PathBuf>> {
        let result = download::get(link, out_dir, options, progress).await;
        progress.finish();
        result
    }
}

/// The HTTP client of every request: TLS checked against Mozilla's roots (webpki-roots)
/// plus `roots`.
pub(crate) fn http_client(roots: &ExtraRoots) -> Result<reqwest::Client> {
    roots
        .add_to(reqwest::Client::builder())
        .user_agent(concat!("sealdrop-client/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        // A stalled connection is noticed and retried rather than waited on forever.
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ClientError::Http(e.to_string()))
}
