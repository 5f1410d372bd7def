//! Certificate authorities trusted besides the built-in web roots: for a server behind a
//! private CA (a company's internal CA, or the throwaway CA of `cargo xtask test --only
//! cluster`). The `sealdrop` command reads them from `--ca-file` / `SEALDROP_CA_FILE`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{ClientError, Result};

/// Extra trusted certificate authorities; empty by default (Mozilla's roots only).
#[derive(Clone, Default)]
pub struct ExtraRoots {
    certificates: Vec<reqwest::Certificate>,
    /// Where they came from, for `Debug`.
    source: Option<PathBuf>,
}

impl ExtraRoots {
    /// Every certificate of a PEM file (one or a bundle). A file without any
    /// `BEGIN CERTIFICATE` block, or with one that does not parse, is an error: a mistyped
    /// path must not quietly leave the server untrusted.
    pub fn from_pem_file(path: &Path) -> Result<Self> {
        let pem = std::fs::read(path).map_err(|e| ClientError::io("cannot read", path, e))?;
        let certificates = parse(&pem).map_err(|reason| ClientError::InvalidCaFile {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(ExtraRoots {
            certificates,
            source: Some(path.to_path_buf()),
        })
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    pub(crate) fn add_to(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for certificate in &self.certificates {
            builder = builder.add_root_certificate(certificate.clone());
        }
        builder
    }
}

fn parse(pem: &[u8]) -> std::result::Result<Vec<reqwest::Certificate>, String> {
    let certificates =
        reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("not PEM ({e})"))?;
    if certificates.is_empty() {
        return Err("no `-----BEGIN CERTIFICATE-----` block in it".into());
    }
    // rustls reads each certificate only when the HTTP client is built: build one now, so
    // that a broken certificate is reported with its file name.
    let mut builder = reqwest::Client::builder();
    for certificate in &certificates {
        builder = builder.add_root_certificate(certificate.clone());
    }
    builder
        .build()
        .map_err(|e| format!("a certificate in it does not parse ({e})"))?;
    Ok(certificates)
}

impl fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtraRoots")
            .field("certificates", &self.certificates.len())
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 CA (CA:TRUE, keyCertSign), made with `openssl req -x509`; its key
    /// was thrown away.
    const TEST_CA: &str = "\
-----BEGIN CERTIFICATE-----
MIIBqzCCAVGgAwIBAgIUIbtI3t/BwzvB7t9eSo8dJXKUJBYwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXc2VhbGRyb3AtY2xpZW50IHRlc3QgQ0EwIBcNMjYxMjA1MTkw
MTA0WhgPMjEyNjExMTExOTAxMDRaMCIxIDAeBgNVBAMMF3NlYWxkcm9wLWNsaWVu
dCB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHbcdd9WKagraA5x4
qqB1QAOEQVCrq52hUmVhSrcALBxU7bwH1YW9DDrLCU0pcqjXO0KrHEgPsYvEsV/p
hecEGqNjMGEwHQYDVR0OBBYEFITWd2jKLJgWrnFoEV99YtaOvwP1MB8GA1UdIwQY
MBaAFITWd2jKLJgWrnFoEV99YtaOvwP1MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgIEMAoGCCqGSM49BAMCA0gAMEUCIQC9EPWwqo1A06DMZgiexc1epkfC
g2tXoX/UR0k005j5fgIgeugKGd1aosyuz02to8qI5oNNxNdT+xpaXDPXlWThzMk=
-----END CERTIFICATE-----
";

    fn file_with(contents: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, contents).expect("write the PEM file");
        (dir, path)
    }

    #[test]
    fn a_pem_bundle_adds_each_of_its_certificates() {
        let (_dir, path) = file_with(&format!("{TEST_CA}{TEST_CA}"));
        let roots = ExtraRoots::from_pem_file(&path).expect("two valid certificates");
        assert_eq!(roots.len(), 2);
        crate::http_client(&roots).expect("a client trusting them");
    }

    #[test]
    fn a_file_without_certificates_is_refused_naming_it() {
        let (_dir, path) = file_with("this is not a certificate\n");
        let error = ExtraRoots::from_pem_file(&path).expect_err("no certificate in it");
        assert!(
            matches!(error, ClientError::InvalidCaFile { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("ca.pem"), "{error}");
    }

    #[test]
    fn a_damaged_certificate_is_refused() {
        let damaged = TEST_CA.replace("MIIBqzCCAVGg", "MIIBqzCCAVGgAAAA");
        let (_dir, path) = file_with(&damaged);
        let error = ExtraRoots::from_pem_file(&path).expect_err("a broken certificate");
        assert!(
            matches!(error, ClientError::InvalidCaFile { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let error =
            ExtraRoots::from_pem_file(Path::new("/nonexistent/ca.pem")).expect_err("no such file");
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
    }
}
