//! Server configuration: one [`Config`] built from command-line flags and environment
//! variables ([`ConfigArgs`]), shared by `sealdrop serve` and `sealdrop admin`.
//!
//! Every setting has a flag and an environment variable (`SEALDROP_*`, or `DATABASE_URL`);
//! flags win. The defaults run the embedded setup on one machine: SQLite and a blob folder
//! inside `--data-dir`, mail written to an outbox folder there too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use url::Url;

use sealdrop_api::forwarded::{ForwardedHeader, ProxyTrust, TrustedProxies};

mod widget;
mod zendesk;

pub use widget::WidgetLimits;
pub use zendesk::{ZendeskArgs, ZendeskBase, ZendeskConfig, DEFAULT_BASE_URL};

/// The largest manifest the server accepts (docs/API.md: `413` beyond 1 MiB).
pub const MAX_MANIFEST_SIZE: usize = 1 << 20;
/// Largest JSON request body accepted by any endpoint.
pub const MAX_JSON_BODY: usize = 64 << 10;
/// How long an unfinalized upload may sit before the purge task removes it.
pub const ABANDONED_UPLOAD_AGE: Duration = Duration::from_secs(24 * 3600);
/// How long a download token (`sdd_…`) stays valid (capped by the package expiry).
pub const DOWNLOAD_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Flags and environment variables, as `clap` sees them. Turned into a [`Config`] by
/// [`ConfigArgs::into_config`], which fills in the defaults that depend on other settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Address and port the HTTP server listens on.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// The URL users reach this server at (used to build secure links and page URLs).
    /// Default: `http://` + the listen address.
    #[arg(long, global = true, env = "SEALDROP_PUBLIC_URL")]
    pub public_url: Option<Url>,

    /// Folder for everything the embedded setup keeps on disk: the SQLite database, the blob
    /// folder, upload spool files and the mail outbox. Created if missing.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_DATA_DIR",
        default_value = "./sealdrop-data"
    )]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`.
    /// Default: `sqlite://<data-dir>/sealdrop.db`.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where encrypted parts are stored: `folder` (`<data-dir>/blobs`) or `s3`.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_STORAGE",
        value_enum,
        default_value = "folder"
    )]
    pub storage: StorageKind,

    /// S3 endpoint URL for S3-compatible stores (Garage, MinIO...). Default: AWS.
    #[arg(long, global = true, env = "SEALDROP_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket (required with `--storage s3`).
    #[arg(long, global = true, env = "SEALDROP_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 region.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_S3_REGION",
        default_value = "us-east-1"
    )]
    pub s3_region: String,
    /// S3 access key id (default: the AWS credential chain).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_S3_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub s3_secret_access_key: Option<String>,
    /// Use path-style bucket addressing (`http://host/bucket/key`), as most self-hosted
    /// S3-compatible stores need.
    #[arg(long, global = true, env = "SEALDROP_S3_PATH_STYLE", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_path_style: bool,
    /// Key prefix for every object this server writes (e.g. `sealdrop/`).
    #[arg(long, global = true, env = "SEALDROP_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,

    /// SMTP server URL for outgoing mail (`smtps://user:pass@host`). Default: write each mail
    /// to `<data-dir>/outbox` and log where.
    #[arg(long, global = true, env = "SEALDROP_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Folder of the pages' static files (HTML, ES modules, CSS), served at `/static/`.
    /// Default: the source tree's `web/` folder.
    #[arg(long, global = true, env = "SEALDROP_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Folder of the browser package built by `cargo xtask wasm`, served at `/static/pkg/`;
    /// its `widget/` folder is the Help Center widget's release, served at
    /// `/widget/v1/loader.js` and `/widget/v1/assets/`. Default: the source tree's
    /// `widget-wasm/pkg/`.
    #[arg(long, global = true, env = "SEALDROP_WASM_DIR")]
    pub wasm_dir: Option<PathBuf>,
    /// HMAC key for verification codes: base64url of 32 random bytes. Set the same value on
    /// every instance. Default: `<data-dir>/verification.key`, made on first start.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_VERIFICATION_KEY",
        hide_env_values = true
    )]
    pub verification_key: Option<String>,
    /// Seed (32 bytes, base64url) of the Ed25519 key that signs certificates of deletion.
    /// Several instances must share it; unset, it is kept in `<data-dir>/deletion-signing.key`
    /// (made on first start).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_DELETION_SIGNING_KEY",
        hide_env_values = true
    )]
    pub deletion_signing_key: Option<String>,

    /// Largest file a package may hold, in bytes of the file as sent (before encryption; its
    /// ciphertext is 16 bytes per 64 KiB larger).
    #[arg(long, global = true, env = "SEALDROP_MAX_FILE_SIZE", default_value_t = 10 * (1 << 30))]
    pub max_file_size: u64,
    /// Most files one package may hold (the format allows 1000).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_MAX_FILES",
        default_value_t = 1000
    )]
    pub max_files: u32,
    /// Expiry of a new package when the request names none, in seconds (default 7 days).
    #[arg(long, global = true, env = "SEALDROP_DEFAULT_EXPIRY_SECS", default_value_t = 7 * 24 * 3600)]
    pub default_expiry_secs: u64,
    /// Longest expiry a package may ask for, in seconds (default 30 days).
    #[arg(long, global = true, env = "SEALDROP_MAX_EXPIRY_SECS", default_value_t = 30 * 24 * 3600)]
    pub max_expiry_secs: u64,
    /// How often the purge task runs, in seconds.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_PURGE_INTERVAL_SECS",
        default_value_t = 3600
    )]
    pub purge_interval_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish, in seconds.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 30
    )]
    pub shutdown_timeout_secs: u64,

    /// Behind one reverse proxy that appends to `X-Forwarded-For`: the same as
    /// `--proxy-hops 1`. Leave off when clients reach the server directly, or they could pick
    /// their own address.
    #[arg(long, global = true, env = "SEALDROP_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Behind this many reverse proxies, each appending one hop to the forwarded header: the
    /// client's address (for per-address caps) is the hop that many places left of the TCP
    /// peer. Entries a client wrote itself never count.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_PROXY_HOPS",
        value_name = "N",
        conflicts_with = "trusted_proxies"
    )]
    pub proxy_hops: Option<u8>,
    /// Behind reverse proxies in these networks (comma-separated CIDRs, e.g.
    /// `10.0.0.0/8,fd00::/8`): the client's address is the right-most forwarded hop outside
    /// them. Requests whose TCP peer is outside them are taken at their peer's address.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_TRUSTED_PROXIES",
        value_name = "CIDR,...",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Which header the proxies write: `x-forwarded-for` or RFC 7239 `forwarded`. Only that
    /// one is read.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_FORWARDED_HEADER",
        value_enum,
        default_value = "x-forwarded-for"
    )]
    pub forwarded_header: ForwardedHeader,
    /// Per-address caps count IPv6 clients by this prefix length (one subscriber usually
    /// holds a whole /64, so counting /128s would give it endless fresh counters).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_IPV6_RATE_PREFIX",
        value_name = "BITS",
        default_value_t = 64,
        value_parser = clap::value_parser!(u8).range(1..=128)
    )]
    pub ipv6_rate_prefix: u8,
    /// Days a package's row is kept after its blobs were purged (expired, revoked or
    /// downloaded out), so its link can say why it no longer opens; then the row goes with
    /// every row that hangs off it. A tenant's settings may choose another period.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_PACKAGE_RETENTION_DAYS",
        value_name = "DAYS",
        default_value_t = 7
    )]
    pub package_retention_days: u32,
    /// Days audit events are kept. A tenant's settings may choose another period.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_AUDIT_RETENTION_DAYS",
        value_name = "DAYS",
        default_value_t = 365,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub audit_retention_days: u32,
    /// How often the lifecycle check asks Zendesk, through each tenant's grant, whether the
    /// tenant's app is still installed, schedules the deletion of tenants whose app is gone or
    /// whose grant no longer works, and carries out deletions that are due, in seconds (default
    /// daily). `sealdrop admin lifecycle check` runs it at once.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_LIFECYCLE_INTERVAL_SECS",
        value_name = "SECS",
        default_value_t = 86_400,
        value_parser = positive_integer("SEALDROP_LIFECYCLE_INTERVAL_SECS")
    )]
    pub lifecycle_interval_secs: u64,
    /// Days a Zendesk tenant whose app was uninstalled (or whose grant stopped working) is
    /// kept before all its data is deleted, counted from when the lifecycle check first saw
    /// it or from the tenant's last activity, whichever is later. Reinstalling the app (or a
    /// working grant again) within that time cancels the deletion.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_UNINSTALL_GRACE_DAYS",
        value_name = "DAYS",
        default_value_t = 30,
        value_parser = positive_integer("SEALDROP_UNINSTALL_GRACE_DAYS")
    )]
    pub uninstall_grace_days: u64,
    /// Bearer token that `/metrics` requires (`Authorization: Bearer TOKEN`); without it the
    /// metrics are open to anyone who reaches the port. Give Prometheus the same token
    /// (`authorization: {credentials: …}` in its scrape config).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// `Strict-Transport-Security` max-age in seconds, sent when the public URL is
    /// `https://` (browsers then refuse plain HTTP to this host for that long). 0 sends none.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_HSTS_MAX_AGE_SECS",
        value_name = "SECS",
        default_value_t = 31_536_000
    )]
    pub hsts_max_age_secs: u64,

    /// Log format on standard error: `text` for people, `json` (one object per line) for log
    /// collectors. The filter comes from `RUST_LOG` (e.g. `RUST_LOG=debug`).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_LOG_FORMAT",
        value_enum,
        ignore_case = true,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    /// Help Center widget: new widget packages one client address may start per hour (every
    /// change of the attached files starts one). Counted per tenant.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_WIDGET_PACKAGES_PER_IP_HOUR",
        value_name = "N",
        default_value_t = widget::DEFAULT_PACKAGES_PER_IP_HOUR,
        value_parser = positive_integer("SEALDROP_WIDGET_PACKAGES_PER_IP_HOUR")
    )]
    pub widget_packages_per_ip_hour: u64,
    /// Help Center widget: new widget packages one tenant may get per hour, from all addresses.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_WIDGET_PACKAGES_PER_TENANT_HOUR",
        value_name = "N",
        default_value_t = widget::DEFAULT_PACKAGES_PER_TENANT_HOUR,
        value_parser = positive_integer("SEALDROP_WIDGET_PACKAGES_PER_TENANT_HOUR")
    )]
    pub widget_packages_per_tenant_hour: u64,
    /// Help Center widget: ciphertext bytes a tenant's live widget packages may hold, unless
    /// the tenant's settings name their own quota (default 100 GiB).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_WIDGET_QUOTA_BYTES",
        value_name = "BYTES",
        default_value_t = widget::DEFAULT_QUOTA_BYTES,
        value_parser = positive_integer("SEALDROP_WIDGET_QUOTA_BYTES")
    )]
    pub widget_quota_bytes: u64,
    /// Help Center widget: seconds after which an unfinalized widget upload is purged (a form
    /// left open without submitting; other uploads get 24 hours).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_WIDGET_ABANDONED_SECS",
        value_name = "SECS",
        default_value_t = widget::DEFAULT_ABANDONED_SECS,
        value_parser = positive_integer("SEALDROP_WIDGET_ABANDONED_SECS")
    )]
    pub widget_abandoned_secs: u64,

    /// Zendesk integration: where Zendesk answers, the app key, OAuth client, server keys.
    #[command(flatten)]
    pub zendesk: ZendeskArgs,
}

/// A parser for a setting that must be a whole number of at least 1. clap puts the flag and
/// the value in front of its message; the message names the environment variable, since the
/// value may have come from there.
fn positive_integer(
    variable: &'static str,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |text| {
        match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "must be a positive integer (a whole number of at least 1), given as this flag or as {variable}"
        )),
    }
    }
}

/// How log lines are written ([`crate::telemetry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which blob store backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageKind {
    /// A local folder (`<data-dir>/blobs`): atomic writes, one file per part.
    Folder,
    /// An S3-compatible object store (`SEALDROP_S3_*`).
    S3,
}

/// The resolved server configuration. `Debug` leaves out the database URL (it may hold a
/// password) and everything that may hold a key.
#[derive(Clone)]
pub struct Config {
    /// Socket address to bind (`127.0.0.1:0` in tests picks a free port).
    pub listen: SocketAddr,
    /// Base URL for links; no trailing slash.
    pub public_url: Url,
    /// The data folder (created at start-up).
    pub data_dir: PathBuf,
    /// sqlx database URL, `sqlite:` or `postgres:`.
    pub database_url: String,
    /// Blob store settings.
    pub storage: StorageConfig,
    /// Mail transport settings (used by the `mail` module).
    pub mail: MailConfig,
    /// Static files of the pages (`/static/`).
    pub web_dir: PathBuf,
    /// The browser package (`/static/pkg/`) and the widget's release (`widget/`).
    pub wasm_dir: PathBuf,
    /// Where the verification key comes from.
    pub verification: VerificationConfig,
    /// Where the deletion signing key comes from (same shape as the verification key's).
    pub deletion_key: VerificationConfig,
    /// Size, count and time limits.
    pub limits: Limits,
    /// Interval between purge runs.
    pub purge_interval: Duration,
    /// The lifecycle check of Zendesk tenants: how often, and the grace period.
    pub lifecycle: Lifecycle,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Help Center widget limits (hourly caps, default quota, abandoned-upload age).
    pub widget: WidgetLimits,
    /// Which forwarded addresses are believed (behind reverse proxies).
    pub proxy_trust: ProxyTrust,
    /// IPv6 prefix length per-address caps count by.
    pub ipv6_rate_prefix: u8,
    /// `Strict-Transport-Security` value, when the public URL is `https://`.
    pub hsts: Option<String>,
    /// How long purged package rows and audit events are kept.
    pub retention: Retention,
    /// SHA-256 of the token `/metrics` requires, if one is set.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// Zendesk integration settings.
    pub zendesk: ZendeskConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url.as_str())
            .field("data_dir", &self.data_dir)
            .field(
                "database",
                &self.database_url.split(':').next().unwrap_or("?"),
            )
            .field("storage", &self.storage)
            .field("mail", &self.mail)
            .field("limits", &self.limits)
            .field("widget", &self.widget)
            .finish_non_exhaustive()
    }
}

/// Blob store settings.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// Local folder; every part is one file below `root`.
    Folder {
        /// The blob folder.
        root: PathBuf,
    },
    /// S3-compatible object store.
    S3(S3Config),
}

/// Settings of an S3-compatible store. `Debug` hides the secret key.
#[derive(Clone)]
pub struct S3Config {
    /// Custom endpoint (Garage, MinIO), or `None` for AWS.
    pub endpoint: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Region name (Garage: usually `garage`).
    pub region: String,
    /// Static credentials; `None` uses the AWS default credential chain.
    pub credentials: Option<(String, String)>,
    /// Path-style addressing.
    pub path_style: bool,
    /// Prefix of every key this server writes; empty or ending in `/`.
    pub prefix: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.credentials.as_ref().map(|(id, _)| id),
            )
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Where outgoing mail goes. `Debug` hides the SMTP URL (it may hold a password).
#[derive(Clone)]
pub enum MailConfig {
    /// Write each mail as a file into this folder (the embedded default).
    Outbox(PathBuf),
    /// Send through this SMTP server.
    Smtp(String),
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox(path) => f.debug_tuple("Outbox").field(path).finish(),
            Self::Smtp(_) => f.write_str("Smtp(<hidden>)"),
        }
    }
}

/// Where the verification code HMAC key comes from. `Debug` hides the key.
#[derive(Clone)]
pub struct VerificationConfig {
    /// The configured key (b64u), if any.
    pub key: Option<String>,
    /// Otherwise, the key file (made if missing).
    pub key_file: PathBuf,
}

impl std::fmt::Debug for VerificationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationConfig")
            .field("key", &self.key.as_ref().map(|_| "<hidden>"))
            .field("key_file", &self.key_file)
            .finish()
    }
}

/// Size, count and time limits enforced by the API.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest ciphertext size of one file.
    pub max_file_size: u64,
    /// Most files per package.
    pub max_files: u32,
    /// Largest manifest, bytes.
    pub max_manifest_size: usize,
    /// Expiry when a request names none (a tenant may override it).
    pub default_expiry: Duration,
    /// Longest allowed expiry (a tenant may lower it).
    pub max_expiry: Duration,
}

impl ConfigArgs {
    /// Checks the settings and fills in derived defaults.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let public_url = match self.public_url {
            Some(url) => url,
            None => Url::parse(&format!("http://{}", self.listen))
                .context("building the default public URL from --listen")?,
        };
        if !matches!(public_url.scheme(), "http" | "https") {
            bail!("--public-url must be an http:// or https:// URL");
        }
        let public_url_is_https = public_url.scheme() == "https";
        let database_url = match self.database_url {
            Some(url) => url,
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("sealdrop.db").display()
            ),
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            bail!("DATABASE_URL must start with sqlite: or postgres:");
        }
        let storage = match self.storage {
            StorageKind::Folder => StorageConfig::Folder {
                root: self.data_dir.join("blobs"),
            },
            StorageKind::S3 => {
                let bucket = self
                    .s3_bucket
                    .context("SEALDROP_STORAGE=s3 needs SEALDROP_S3_BUCKET")?;
                let credentials = match (self.s3_access_key_id, self.s3_secret_access_key) {
                    (Some(id), Some(secret)) => Some((id, secret)),
                    (None, None) => None,
                    _ => bail!("set both SEALDROP_S3_ACCESS_KEY_ID and SEALDROP_S3_SECRET_ACCESS_KEY, or neither"),
                };
                let mut prefix = self.s3_prefix;
                if !prefix.is_empty() && !prefix.ends_with('/') {
                    prefix.push('/');
                }
                StorageConfig::S3(S3Config {
                    endpoint: self.s3_endpoint,
                    bucket,
                    region: self.s3_region,
                    credentials,
                    path_style: self.s3_path_style,
                    prefix,
                })
            }
        };
        let mail = match self.smtp_url {
            Some(url) => MailConfig::Smtp(url),
            None => MailConfig::Outbox(self.data_dir.join("outbox")),
        };
        if self.max_expiry_secs == 0 || self.default_expiry_secs == 0 {
            bail!("expiry settings must be at least one second");
        }
        if self.default_expiry_secs > self.max_expiry_secs {
            bail!("SEALDROP_DEFAULT_EXPIRY_SECS is larger than SEALDROP_MAX_EXPIRY_SECS");
        }
        if self.max_files == 0 || self.max_files > 1000 {
            bail!("SEALDROP_MAX_FILES must be between 1 and 1000 (the format's limit)");
        }
        if self.purge_interval_secs == 0 {
            bail!("SEALDROP_PURGE_INTERVAL_SECS must be at least 1");
        }
        // The flags' parser refuses these already; this covers settings built in code.
        for (value, flag) in [
            (
                self.widget_packages_per_ip_hour,
                "--widget-packages-per-ip-hour (SEALDROP_WIDGET_PACKAGES_PER_IP_HOUR)",
            ),
            (
                self.widget_packages_per_tenant_hour,
                "--widget-packages-per-tenant-hour (SEALDROP_WIDGET_PACKAGES_PER_TENANT_HOUR)",
            ),
            (
                self.widget_quota_bytes,
                "--widget-quota-bytes (SEALDROP_WIDGET_QUOTA_BYTES)",
            ),
            (
                self.widget_abandoned_secs,
                "--widget-abandoned-secs (SEALDROP_WIDGET_ABANDONED_SECS)",
            ),
            (
                self.lifecycle_interval_secs,
                "--lifecycle-interval-secs (SEALDROP_LIFECYCLE_INTERVAL_SECS)",
            ),
            (
                self.uninstall_grace_days,
                "--uninstall-grace-days (SEALDROP_UNINSTALL_GRACE_DAYS)",
            ),
        ] {
            if value == 0 {
                bail!("{flag} must be a positive integer, not 0");
            }
        }
        let widget = WidgetLimits::new(
            self.widget_packages_per_ip_hour,
            self.widget_packages_per_tenant_hour,
            self.widget_quota_bytes,
            self.widget_abandoned_secs,
        );
        let key_file = self.data_dir.join("verification.key");
        let deletion_key_file = self.data_dir.join("deletion-signing.key");
        let zendesk = self.zendesk.into_config(&self.data_dir)?;
        Ok(Config {
            listen: self.listen,
            public_url,
            data_dir: self.data_dir,
            database_url,
            storage,
            mail,
            web_dir: self
                .web_dir
                .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web"))),
            wasm_dir: self.wasm_dir.unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../widget-wasm/pkg"))
            }),
            verification: VerificationConfig {
                key: self.verification_key,
                key_file,
            },
            deletion_key: VerificationConfig {
                key: self.deletion_signing_key,
                key_file: deletion_key_file,
            },
            limits: Limits {
                max_file_size: self.max_file_size,
                max_files: self.max_files,
                max_manifest_size: MAX_MANIFEST_SIZE,
                default_expiry: Duration::from_secs(self.default_expiry_secs),
                max_expiry: Duration::from_secs(self.max_expiry_secs),
            },
            purge_interval: Duration::from_secs(self.purge_interval_secs),
            lifecycle: Lifecycle {
                interval: Duration::from_secs(self.lifecycle_interval_secs),
                grace: Duration::from_secs(self.uninstall_grace_days.saturating_mul(86_400)),
            },
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_secs),
            widget,
            proxy_trust: ProxyTrust {
                proxies: if !self.trusted_proxies.is_empty() {
                    TrustedProxies::Networks(self.trusted_proxies)
                } else if let Some(n) = self.proxy_hops {
                    TrustedProxies::Hops(n)
                } else if self.trust_forwarded_for {
                    TrustedProxies::Hops(1)
                } else {
                    TrustedProxies::None
                },
                header: self.forwarded_header,
            },
            ipv6_rate_prefix: self.ipv6_rate_prefix,
            retention: Retention {
                package_days: self.package_retention_days,
                audit_days: self.audit_retention_days,
            },
            metrics_token_hash: match self.metrics_token.as_deref().map(str::trim) {
                Some("") => bail!("--metrics-token is empty; leave it unset to keep /metrics open"),
                Some(token) => {
                    Some(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).into())
                }
                None => None,
            },
            hsts: (public_url_is_https && self.hsts_max_age_secs > 0)
                .then(|| format!("max-age={}", self.hsts_max_age_secs)),
            zendesk,
        })
    }
}

/// The lifecycle check of Zendesk tenants ([`crate::lifecycle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// How often `serve` runs it.
    pub interval: Duration,
    /// How long a tenant whose app is gone (or whose grant no longer works) is kept after the
    /// later of that discovery and its last activity.
    pub grace: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(86_400),
            grace: Duration::from_secs(30 * 86_400),
        }
    }
}

/// The server's retention periods (docs/DATA.md); a tenant's settings may override each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days a purged package's row is kept.
    pub package_days: u32,
    /// Days an audit event is kept.
    pub audit_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            package_days: 7,
            audit_days: 365,
        }
    }
}

impl Config {
    /// Folder where part uploads are spooled (and hashed) before they reach the blob store.
    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        config: ConfigArgs,
    }

    const WIDGET_FLAGS: [&str; 4] = [
        "--widget-packages-per-ip-hour",
        "--widget-packages-per-tenant-hour",
        "--widget-quota-bytes",
        "--widget-abandoned-secs",
    ];

    /// Parses a command line with the settings that would otherwise come from the
    /// environment given as flags.
    fn parse(extra: &[String]) -> Result<ConfigArgs, clap::Error> {
        let base = [
            "sealdrop",
            "--data-dir",
            "/nonexistent/sealdrop-config-test",
            "--database-url",
            "sqlite:///nonexistent/sealdrop-config-test/sealdrop.db",
            "--storage",
            "folder",
        ];
        let args = base
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned());
        Args::try_parse_from(args).map(|a| a.config)
    }

    #[test]
    fn widget_limits_come_from_their_flags() {
        let extra: Vec<String> = WIDGET_FLAGS
            .iter()
            .zip(["5", "7", "1000", "90"])
            .map(|(flag, value)| format!("{flag}={value}"))
            .collect();
        let config = parse(&extra)
            .expect("flags parse")
            .into_config()
            .expect("valid settings");
        assert_eq!(config.widget, WidgetLimits::new(5, 7, 1000, 90));
        assert_eq!(config.widget.abandoned_after, Duration::from_secs(90));
    }

    #[test]
    fn the_lifecycle_check_runs_daily_with_30_days_of_grace_unless_told_otherwise() {
        let config = parse(&[])
            .expect("defaults parse")
            .into_config()
            .expect("valid");
        assert_eq!(config.lifecycle, Lifecycle::default());
        assert_eq!(config.lifecycle.grace, Duration::from_secs(30 * 86_400));
        let config = parse(&[
            "--lifecycle-interval-secs=60".into(),
            "--uninstall-grace-days=7".into(),
        ])
        .expect("flags parse")
        .into_config()
        .expect("valid");
        assert_eq!(
            config.lifecycle,
            Lifecycle {
                interval: Duration::from_secs(60),
                grace: Duration::from_secs(7 * 86_400),
            }
        );
        for flag in ["--lifecycle-interval-secs", "--uninstall-grace-days"] {
            let error = match parse(&[format!("{flag}=0")]) {
                Ok(_) => panic!("{flag}=0 was accepted"),
                Err(e) => e.to_string(),
            };
            assert!(error.contains("positive integer"), "{flag}: {error}");
        }
    }

    #[test]
    fn a_widget_limit_that_is_not_a_positive_integer_is_refused_naming_its_flag() {
        for flag in WIDGET_FLAGS {
            for bad in ["0", "-3", "ten", "1.5", ""] {
                let error = match parse(&[format!("{flag}={bad}")]) {
                    Ok(_) => panic!("{flag}={bad:?} was accepted"),
                    Err(e) => e.to_string(),
                };
                assert!(
                    error.contains(flag) && error.contains("positive integer"),
                    "{flag}={bad:?}: {error}"
                );
            }
            // Settings built in code go through the same check in `into_config`.
            let mut args = parse(&[]).expect("defaults parse");
            match flag {
                "--widget-packages-per-ip-hour" => args.widget_packages_per_ip_hour = 0,
                "--widget-packages-per-tenant-hour" => args.widget_packages_per_tenant_hour = 0,
                "--widget-quota-bytes" => args.widget_quota_bytes = 0,
                _ => args.widget_abandoned_secs = 0,
            }
            let error = args.into_config().expect_err("0 is refused").to_string();
            assert!(
                error.contains(flag) && error.contains("positive integer"),
                "{flag}: {error}"
            );
        }
    }
}
