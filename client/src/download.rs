//! Getting: prove the link, open the manifest, take a download, then stream, authenticate and
//! write each file, resuming with `Range` requests after any interruption.
//!
//! Plaintext only ever reaches the final file name after every chunk authenticated: it is
//! written to `NAME.<id>.sealdrop-part` and renamed at the end. On tampering the partial file
//! is deleted. (The package id in the partial's name keeps a leftover from another package
//! with a same-named file from ever being resumed.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::StreamExt;
use reqwest::header::RANGE;
use reqwest::StatusCode;
use sealdrop_api::error::ErrorCode;
use sealdrop_api::packages::{DownloadGrant, Opened};
use sealdrop_api::verification::RecipientSessionGrant;
use sealdrop_crypto::{
    default_aead, Error as CryptoError, LinkProof, Manifest, OpenedPackage, SecureLink,
    ServerSecret, StreamDecryptor, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};
use crate::http::{self, describe, is_transient_error, is_transient_status, Answer, Backoff};
use crate::names::{sanitize_file_name, unique_name};
use crate::output::{Block, Output, BLOCK};
use crate::progress::Progress;
use crate::{http_client, GetOptions, RetryPolicy};

const LINK_PROOF: &str = "X-Sealdrop-Link-Proof";
const RECIPIENT_SESSION: &str = "X-Sealdrop-Recipient-Session";
const DOWNLOAD_TOKEN: &str = "X-Sealdrop-Download-Token";
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A stream that ends early at the same place this many times in a row means the stored
/// ciphertext itself is short.
const SAME_PLACE_EOFS: u32 = 3;

/// The package behind one link, as the server lets this downloader see it.
struct Remote {
    http: reqwest::Client,
    url: String,
    id_text: String,
    proof: Zeroizing<String>,
    session: Option<Zeroizing<String>>,
    retry: RetryPolicy,
}

pub(crate) async fn get(
    link: &SecureLink,
    out_dir: &Path,
    options: GetOptions,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>> {
    let id = link.id();
    let mut remote = Remote {
        http: http_client(&options.extra_roots)?,
        url: format!("{}/api/v1/packages/{}", link.base(), id.to_b64u()),
        id_text: id.to_b64u(),
        proof: Zeroizing::new(LinkProof::derive(link.secret(), &id).to_b64u()),
        session: options.recipient_session.clone().map(Zeroizing::new),
        retry: options.retry,
    };

    // Public info first: a gone or expired package is reported before anything else.
    let info = remote
        .send("look up the package", progress, |r| r.http.get(&r.url))
        .await?;
    if !info.is_success() {
        return Err(info.into_error());
    }

    let opened = remote.open(link, &options, progress).await?;
    let names = local_names(out_dir, &opened)?;
    progress.start(opened.metadata().files.iter().map(|f| f.size).sum());

    // One key for this run's download start, sent again on every retry: a retry after a lost
    // answer then gets a token without using up another download of the package's limit.
    let idempotency_key = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let started = remote
        .send("start the download", progress, |r| {
            r.http
                .post(format!("{}/download", r.url))
                .header(IDEMPOTENCY_KEY, idempotency_key.as_str())
        })
        .await?;
    if !started.is_success() {
        return Err(started.into_error());
    }
    let token = Zeroizing::new(
        started
            .json::<DownloadGrant>()?
            .download_token
            .as_str()
            .to_owned(),
    );

    let mut saved = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        progress.file(name);
        let decryptor = opened.file_decryptor(index)?;
        let path = remote
            .fetch_file(index, &token, decryptor, out_dir, name, progress)
            .await?;
        saved.push(path);
    }
    Ok(saved)
}

/// Safe, unique local names for the package's files.
fn local_names(out_dir: &Path, opened: &OpenedPackage) -> Result<Vec<String>> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ClientError::io("cannot create the output folder", out_dir, e))?;
    let mut taken = HashSet::new();
    Ok(opened
        .metadata()
        .files
        .iter()
        .map(|file| {
            let name = unique_name(out_dir, &sanitize_file_name(&file.name), &taken);
            taken.insert(name.clone());
            name
        })
        .collect())
}

impl Remote {
    /// Sends a request with the link proof (and recipient session, if any), with retries.
    async fn send(
        &self,
        what: &str,
        progress: &dyn Progress,
        build: impl Fn(&Self) -> reqwest::RequestBuilder,
    ) -> Result<Answer> {
        http::send(what, self.retry, progress, || {
            let request = build(self).header(LINK_PROOF, self.proof.as_str());
            match &self.session {
                Some(session) => request.header(RECIPIENT_SESSION, session.as_str()),
                None => request,
            }
        })
        .await
    }

    /// `POST …/open`, verifying by email code when the sender asked for it; returns the
    /// opened (authenticated) package.
    async fn open(
        &mut self,
        link: &SecureLink,
        options: &GetOptions,
        progress: &dyn Progress,
    ) -> Result<OpenedPackage> {
        let mut verified = false;
        let answer = loop {
            let answer = self
                .send("open the package", progress, |r| {
                    r.http.post(format!("{}/open", r.url))
                })
                .await?;
            if answer.is_success() {
                break answer;
            }
            let needs_code = answer.status == StatusCode::UNAUTHORIZED
                && answer.is_error(ErrorCode::VerificationRequired);
            if !needs_code || verified {
                return Err(answer.into_error());
            }
            let session = self.verify(options, progress).await?;
            self.session = Some(session);
            verified = true;
        };
        let opened: Opened = answer.json()?;
        let manifest = STANDARD
            .decode(&opened.manifest)
            .or_else(|_| URL_SAFE_NO_PAD.decode(&opened.manifest))
            .map_err(|_| ClientError::Protocol("the manifest is not base64".into()))?;
        let server_secret = ServerSecret::parse_b64u(opened.server_secret.as_str())
            .map_err(|_| ClientError::Protocol("the server secret is not valid".into()))?;
        let manifest = Manifest::parse(&manifest).map_err(ClientError::CannotOpen)?;
        if manifest.package_id() != link.id() {
            return Err(ClientError::CannotOpen(CryptoError::InvalidManifest(
                "the manifest belongs to another package",
            )));
        }
        manifest
            .open_with_link(default_aead(), link.secret(), &server_secret)
            .map_err(ClientError::CannotOpen)
    }

    /// Gets a recipient session: asks for a code (unless one was given), then confirms it.
    async fn verify(
        &self,
        options: &GetOptions,
        progress: &dyn Progress,
    ) -> Result<Zeroizing<String>> {
        let email = options
            .email
            .clone()
            .ok_or(ClientError::VerificationRequired)?;
        let code = match &options.code {
            Some(code) => Zeroizing::new(code.trim().to_owned()),
            None => {
                let body = json!({ "email": email });
                let answer = self
                    .send("ask for a verification code", progress, |r| {
                        r.http.post(format!("{}/verification", r.url)).json(&body)
                    })
                    .await?;
                if !answer.is_success() {
                    return Err(verification_error(answer));
                }
                progress.note(&format!(
                    "If {email} is a recipient, a verification code is on its way."
                ));
                match &options.prompt_code {
                    Some(prompt) => Zeroizing::new(
                        prompt(&email)
                            .ok_or(ClientError::VerificationRequired)?
                            .trim()
                            .to_owned(),
                    ),
                    None => return Err(ClientError::CodeSent { email }),
                }
            }
        };
        let body = json!({ "email": email, "code": code.as_str() });
        let answer = self
            .send("confirm the verification code", progress, |r| {
                r.http
                    .post(format!("{}/verification/confirm", r.url))
                    .json(&body)
            })
            .await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::WrongCode);
        }
        if !answer.is_success() {
            return Err(verification_error(answer));
        }
        Ok(Zeroizing::new(
            answer
                .json::<RecipientSessionGrant>()?
                .recipient_session
                .as_str()
                .to_owned(),
        ))
    }

    /// Streams file `index`, authenticating chunk by chunk into the partial file, then renames
    /// it into place.
    async fn fetch_file(
        &self,
        index: usize,
        token: &str,
        decryptor: StreamDecryptor,
        out_dir: &Path,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<PathBuf> {
        let partial = out_dir.join(format!("{name}.{}.sealdrop-part", &self.id_text[..8]));
        if let Err(e) = self
            .stream_into(index, token, &decryptor, &partial, name, progress)
            .await
        {
            // Anything but tampering (network gone for too long, disk full...) keeps the
            // partial file, which holds only authenticated plaintext, so the next run resumes.
            if matches!(e, ClientError::Tampered { .. }) {
                let _ = tokio::fs::remove_file(&partial).await;
            }
            return Err(e);
        }
        // The name was free when the download started; pick again if something took it since.
        let target = unique_name(out_dir, name, &HashSet::new());
        let target = out_dir.join(target);
        tokio::fs::rename(&partial, &target)
            .await
            .map_err(|e| ClientError::io("cannot rename the finished file to", &target, e))?;
        Ok(target)
    }

    async fn stream_into(
        &self,
        index: usize,
        token: &str,
        decryptor: &StreamDecryptor,
        partial: &Path,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<()> {
        let io = |what: &'static str| move |e: std::io::Error| ClientError::io(what, partial, e);
        let chunks = decryptor.chunk_count();

        // Resume after the last whole chunk of an earlier partial file (always redo the final
        // chunk, so that completion is decided here and now).
        let existing = tokio::fs::metadata(partial)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        let next = (existing / CHUNK_SIZE as u64).min(chunks - 1);
        let mut output = Output::open(partial, next * CHUNK_SIZE as u64)
            .await
            .map_err(io("cannot write"))?;
        progress.advance(next * CHUNK_SIZE as u64);
        let mut sink = Sink {
            block: output.block(),
            output,
            path: partial,
        };
        let received = self
            .receive(index, token, decryptor, next, &mut sink, name, progress)
            .await;
        let Sink { output, block, .. } = sink;
        match received {
            Ok(()) => output.finish(block).await.map_err(io("cannot write")),
            Err(e) => {
                // Keep what authenticated, so that the next run resumes after it.
                if !matches!(e, ClientError::Tampered { .. }) {
                    let _ = output.finish(block).await;
                }
                Err(e)
            }
        }
    }

    /// Requests file `index` from chunk `next` on (again after each interruption) and opens
    /// each chunk in place in the sink's block, handing full blocks to its output, until the
    /// last chunk authenticated; the block then holds the plaintext not yet written.
    #[allow(clippy::too_many_arguments)]
    async fn receive(
        &self,
        index: usize,
        token: &str,
        decryptor: &StreamDecryptor,
        mut next: u64,
        sink: &mut Sink<'_>,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<()> {
        let Sink {
            output,
            block,
            path,
        } = sink;
        let path: &Path = path;
        let io = |e: std::io::Error| ClientError::io("cannot write", path, e);
        let tampered = || ClientError::Tampered {
            name: name.to_owned(),
        };
        let chunks = decryptor.chunk_count();
        let aead = default_aead();
        let url = format!("{}/files/{index}", self.url);
        let mut backoff = Backoff::new(self.retry);
        let mut early_ends = (u64::MAX, 0u32);
        // `block` holds `plain` bytes of plaintext, then `assembled` bytes of chunk `next`.
        let mut plain = block.len();
        while next < chunks {
            let offset = next * ENCRYPTED_CHUNK_SIZE as u64;
            let mut request = self.http.get(&url).header(DOWNLOAD_TOKEN, token);
            if offset > 0 {
                request = request.header(RANGE, format!("bytes={offset}-"));
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if is_transient_error(&e) => {
                    backoff
                        .wait(format!("download {name}: {}", describe(&e)), None, progress)
                        .await?;
                    continue;
                }
                Err(e) => return Err(ClientError::Http(describe(&e))),
            };
            let status = response.status();
            if is_transient_status(status) {
                let wait = http::retry_after(response.headers());
                backoff
                    .wait(
                        format!("download {name}: server answered {status}"),
                        wait,
                        progress,
                    )
                    .await?;
                continue;
            }
            match status {
                StatusCode::PARTIAL_CONTENT => {}
                StatusCode::OK if offset == 0 => {}
                StatusCode::OK => {
                    // The server ignored the range: take the whole file from the start.
                    output.restart().await.map_err(io)?;
                    block.truncate(0);
                    plain = 0;
                    next = 0;
                }
                StatusCode::RANGE_NOT_SATISFIABLE => return Err(tampered()),
                _ => {
                    let body = response.bytes().await.unwrap_or_default();
                    let answer = Answer { status, body };
                    return Err(answer.into_error());
                }
            }

            block.truncate(plain);
            let mut assembled = 0;
            let mut stream = response.bytes_stream();
            let failure = loop {
                match stream.next().await {
                    Some(Ok(mut bytes)) => {
                        while !bytes.is_empty() {
                            if next >= chunks {
                                // More ciphertext than the manifest declares.
                                return Err(tampered());
                            }
                            let plan = decryptor.plan(next)?;
                            let take = (plan.ciphertext_len - assembled).min(bytes.len());
                            block.extend(&bytes.split_to(take));
                            assembled += take;
                            if assembled == plan.ciphertext_len {
                                let opened = decryptor
                                    .decrypt_chunk_in_place(aead, next, block.tail_mut(plain))
                                    .map_err(|_| tampered())?;
                                plain += opened;
                                block.truncate(plain);
                                assembled = 0;
                                progress.advance(opened as u64);
                                next += 1;
                                backoff.reset();
                                if plain == BLOCK {
                                    let full = std::mem::replace(block, output.block());
                                    output.write(full).await.map_err(io)?;
                                    plain = 0;
                                }
                            }
                        }
                    }
                    Some(Err(e)) => break Some(describe(&e)),
                    None => break None,
                }
            };
            // Whatever the answer held of an unfinished chunk is asked for again.
            block.truncate(plain);
            if next == chunks {
                break;
            }
            let reason = match failure {
                Some(reason) => reason,
                None => {
                    // A clean end before the last chunk: the stored ciphertext is short if it
                    // keeps happening at the same place.
                    if early_ends.0 == next {
                        early_ends.1 += 1;
                    } else {
                        early_ends = (next, 1);
                    }
                    if early_ends.1 >= SAME_PLACE_EOFS {
                        return Err(tampered());
                    }
                    "the download ended early".to_owned()
                }
            };
            backoff
                .wait(format!("download {name}: {reason}"), None, progress)
                .await?;
        }
        Ok(())
    }
}

/// Where a download's authenticated plaintext goes: the block being filled, then the partial
/// file.
struct Sink<'a> {
    output: Output,
    block: Block,
    path: &'a Path,
}

/// The error a verification endpoint's failure means (a server without the endpoints answers
/// a bare 404 or 405).
fn verification_error(answer: Answer) -> ClientError {
    let body = answer.error_body();
    if answer.status == StatusCode::METHOD_NOT_ALLOWED
        || (answer.status == StatusCode::NOT_FOUND && body.is_none())
    {
        return ClientError::VerificationUnavailable;
    }
    http::api_error(answer.status, body)
}
