//! `zendesk-sim`: run the Zendesk simulator for the local demo.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use url::Url;
use zendesk_sim::{NewTicket, NewUser, OAuthClient, SimConfig, ZafSigner};

/// A simulated Zendesk account for sealdrop's local demo and tests.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "ZENDESK_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The simulated account's subdomain.
    #[arg(long, env = "ZENDESK_SIM_SUBDOMAIN", default_value = "acme")]
    subdomain: String,
    /// The app installation id.
    #[arg(
        long,
        env = "ZENDESK_SIM_INSTALLATION_ID",
        default_value_t = 360_001_234
    )]
    installation_id: u64,
    /// The sealdrop server's base URL.
    #[arg(
        long,
        env = "ZENDESK_SIM_SEALDROP_URL",
        default_value = "http://127.0.0.1:8080/"
    )]
    sealdrop_url: Url,
    /// The sidebar app URL (default `{sealdrop_url}/zendesk/sidebar`).
    #[arg(long, env = "ZENDESK_SIM_APP_URL")]
    app_url: Option<Url>,
    /// The tenant's widget key for the Help Center loader tag.
    #[arg(long, env = "ZENDESK_SIM_WIDGET_KEY", default_value = "sdw_demo")]
    widget_key: String,
    /// OAuth client identifier to register.
    #[arg(long, env = "ZENDESK_SIM_OAUTH_CLIENT_ID", default_value = "sealdrop")]
    oauth_client_id: String,
    /// OAuth redirect URL to register (default `{sealdrop_url}/zendesk/oauth/callback`).
    #[arg(long, env = "ZENDESK_SIM_OAUTH_REDIRECT_URI")]
    oauth_redirect_uri: Option<String>,
    /// Access token lifetime in seconds; 0 issues non-expiring tokens without refresh tokens.
    #[arg(long, env = "ZENDESK_SIM_ACCESS_TOKEN_TTL", default_value_t = 0)]
    access_token_ttl: u64,
    /// Approve OAuth requests without the consent page.
    #[arg(long, env = "ZENDESK_SIM_AUTO_APPROVE")]
    auto_approve: bool,
    /// PEM file with the RSA private key for ZAF tokens (default: a fresh key each start).
    #[arg(long, env = "ZENDESK_SIM_SIGNING_KEY")]
    signing_key: Option<std::path::PathBuf>,
    /// Do not create the demo users and ticket.
    #[arg(long)]
    empty: bool,
    /// The app folder `cargo xtask package-app` assembled (manifest and assets/): its assets
    /// are served on a second origin and the agent page frames a packaged sidebar from there.
    #[arg(long, env = "ZENDESK_SIM_APP_DIR")]
    app_dir: Option<std::path::PathBuf>,
    /// Where the apps origin listens (default: a free port on --listen's address).
    #[arg(long, env = "ZENDESK_SIM_APPS_LISTEN")]
    apps_listen: Option<std::net::SocketAddr>,
    /// An installation setting, NAME=VALUE (repeatable), secure ones included (e.g.
    /// shared_secret=… from `sealdrop admin tenant app-secret`).
    #[arg(long = "app-setting", value_name = "NAME=VALUE")]
    app_settings: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries only the public key PEM (the demo saves it to a file).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();

    let mut config = SimConfig::new(&args.subdomain, args.sealdrop_url.clone());
    config.bind = args.listen;
    config.installation_id = args.installation_id;
    if let Some(app_url) = args.app_url {
        config.app_url = app_url;
    }
    config.widget_key = args.widget_key;
    config.auto_approve = args.auto_approve;
    config.access_token_ttl =
        (args.access_token_ttl > 0).then(|| Duration::from_secs(args.access_token_ttl));
    if let Some(path) = &args.signing_key {
        config.signer = Some(ZafSigner::from_private_pem(&std::fs::read_to_string(
            path,
        )?)?);
    }
    config.app_dir = args.app_dir.clone();
    config.apps_bind = args.apps_listen;
    let running = zendesk_sim::start(config).await?;
    let mut app_settings = serde_json::Map::new();
    for pair in &args.app_settings {
        let Some((name, value)) = pair.split_once('=') else {
            anyhow::bail!("--app-setting {pair:?} is not NAME=VALUE");
        };
        app_settings.insert(name.to_owned(), value.into());
    }
    running.set_app_settings(app_settings);
    let redirect = match args.oauth_redirect_uri {
        Some(r) => r,
        None => args
            .sealdrop_url
            .join("/zendesk/oauth/callback")?
            .to_string(),
    };
    running.register_client(OAuthClient {
        identifier: args.oauth_client_id.clone(),
        secret: None,
        redirect_uris: vec![redirect.clone()],
    });
    if !args.empty {
        let admin = running.add_user(NewUser {
            name: Some("Ada Admin".into()),
            email: Some("admin@acme.example".into()),
            role: Some("admin".into()),
            ..NewUser::default()
        });
        let agent = running.add_user(NewUser {
            name: Some("Alan Agent".into()),
            email: Some("agent@acme.example".into()),
            role: Some("agent".into()),
            ..NewUser::default()
        });
        let customer = running.add_user(NewUser {
            name: Some("Carol Customer".into()),
            email: Some("carol@customer.example".into()),
            ..NewUser::default()
        });
        let ticket = running.add_ticket(NewTicket {
            subject: Some("Printer logs".into()),
            description: "Hello, the logs are attached.".into(),
            requester_id: customer.id,
            ..NewTicket::default()
        })?;
        tracing::info!(
            admin = admin.id,
            agent = agent.id,
            customer = customer.id,
            ticket = ticket.id,
            "demo data created"
        );
    }
    let base = running.base_url().clone();
    if let Some(apps) = running.apps_base_url() {
        tracing::info!(%apps, "zendesk-sim serves the app's assets");
    }
    tracing::info!(%base, subdomain = %running.subdomain(), issuer = %running.zaf_issuer(), audience = %running.zaf_audience(),
        oauth_client = %args.oauth_client_id, oauth_redirect = %redirect, "zendesk-sim listening");
    println!("{}", running.public_key_pem());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
