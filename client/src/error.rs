//! What can go wrong on the client side, in words a user can act on.
//!
//! No message carries a secret: not the link secret, the server secret, a token or a code.

use std::path::PathBuf;

use sealdrop_crypto::Error as CryptoError;

/// Every failure of [`crate::Client`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The link is not a sealdrop secure link (`https://HOST/p/ID#SECRET`).
    #[error("this is not a sealdrop link: expected https://HOST/p/ID#SECRET (did the part after '#' get lost?)")]
    InvalidLink,

    /// The server answered 404 to a link proof: no package with this id, a wrong secret,
    /// or one purged (the server answers all three alike, on purpose).
    #[error("no package at this link: it may be mistyped, or expired and purged")]
    NotFound,

    /// The package expired.
    #[error("this link has expired")]
    Expired,

    /// The sender revoked the package.
    #[error("the sender revoked this link")]
    Revoked,

    /// Every allowed download was used.
    #[error("this link has reached its download limit")]
    DownloadLimitReached,

    /// The sender required verification and no valid recipient session was given.
    #[error("the sender requires a verification code: run again with --email YOUR_ADDRESS (and --code CODE once the email arrives)")]
    VerificationRequired,

    /// The verification code was wrong or expired.
    #[error(
        "the verification code was not accepted (wrong, expired or used up): ask for a new one"
    )]
    WrongCode,

    /// A code was requested for this address; run again with it.
    #[error("if {email} is a recipient, a verification code is on its way: run again with --email {email} --code CODE")]
    CodeSent {
        /// The address the code was requested for.
        email: String,
    },

    /// The server does not offer email verification (yet).
    #[error("the sender requires a verification code, but this server does not offer email verification")]
    VerificationUnavailable,

    /// The server URL is not an http(s) URL.
    #[error("the server URL must look like https://sealdrop.example.com")]
    InvalidServerUrl,

    /// The credential was refused.
    #[error("the server refused the credential ({0}): check SEALDROP_TOKEN / --token")]
    Unauthorized(String),

    /// A downloaded file failed authentication: altered in storage or in transit. The
    /// partial file was deleted.
    #[error("the file was tampered with ({name}): it was not saved")]
    Tampered {
        /// The (sanitized) file name.
        name: String,
    },

    /// The manifest does not open with this link: a wrong or altered link, or a forged package.
    #[error("the package does not open with this link: {0}")]
    CannotOpen(CryptoError),

    /// A crypto error that is not one of the above.
    #[error("encryption error: {0}")]
    Crypto(#[from] CryptoError),

    /// `send` was given no file.
    #[error("nothing to send: name at least one file")]
    NothingToSend,

    /// A path to send is not a regular file.
    #[error("{path} is not a file (to send a folder, zip it first)")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },

    /// A file is larger than the server accepts.
    #[error("{path} is larger than this server accepts ({max} bytes)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The server's limit in bytes.
        max: u64,
    },

    /// A local file changed size while it was being sent.
    #[error("{path} changed while it was being sent; send it again")]
    FileChanged {
        /// The file.
        path: PathBuf,
    },

    /// Local I/O failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A file of extra trusted certificate authorities (`--ca-file`) holds no usable
    /// certificate.
    #[error("{path} is not a PEM file of CA certificates: {reason}")]
    InvalidCaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The server kept failing (or could not be reached) until the retry deadline.
    #[error("gave up after retrying for {seconds} s: {last}")]
    GaveUp {
        /// How long it retried.
        seconds: u64,
        /// The last failure.
        last: String,
    },

    /// The server answered with an error that retrying cannot fix.
    #[error("the server answered {status}: {message} ({code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The API error code (`bad_request`, `conflict`...).
        code: String,
        /// The server's sentence.
        message: String,
    },

    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),

    /// A request could not be built or sent (not a transient failure).
    #[error("request failed: {0}")]
    Http(String),
}

impl ClientError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ClientError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// `Result` with a [`ClientError`].
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
