//! `sealdrop send` and `sealdrop get`, over the client library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealdrop_client::{
    default_state_dir, Client, ClientError, CodePrompt, Credential, ExtraRoots, GetOptions,
    Progress, RetryPolicy, SendOptions,
};
use sealdrop_crypto::SecureLink;

/// Encrypt files on this machine, upload the ciphertext, and print a secure link.
#[derive(Debug, Args)]
#[command(after_long_help = SEND_EXAMPLES)]
pub struct SendArgs {
    /// Files to send. Each is encrypted here, 64 KiB at a time; the server only ever holds
    /// ciphertext, and file names travel encrypted too.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A recipient's email address (repeat for several). With --require-auth, only these
    /// addresses can get the verification code that unlocks the files.
    #[arg(long = "to", value_name = "EMAIL")]
    pub to: Vec<String>,

    /// Require whoever opens the link to confirm a code emailed to one of the --to addresses.
    #[arg(long)]
    pub require_auth: bool,

    /// How long the link works: a number and a unit, s, m, h, d or w (e.g. 12h, 7d).
    /// Defaults to the tenant's default and is clamped to the tenant's maximum.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expires: Option<Duration>,

    /// How many times the files can be downloaded before the link stops working.
    #[arg(long = "downloads", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub downloads: Option<u32>,

    /// A message for the recipients. It is encrypted with the files.
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,

    /// The sealdrop server, e.g. https://sealdrop.example.com.
    #[arg(long, env = "SEALDROP_URL", value_name = "URL")]
    pub server: String,

    /// A tenant API token (sdt_...), made with `sealdrop admin tenant create`.
    /// Prefer the environment variable: a flag shows up in the process list.
    #[arg(
        long,
        env = "SEALDROP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: String,

    /// Where an interrupted upload keeps what it needs to resume. Default:
    /// $XDG_STATE_HOME/sealdrop, else ~/.local/state/sealdrop. A state file holds the
    /// package's secrets (link secret, server secret, upload token) until the upload is
    /// finalized: it is created 0600 and deleted once the link works. Run the same command
    /// again after a failure and only the missing parts are sent.
    #[arg(long, env = "SEALDROP_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// How many 8 MiB parts to upload at once (1-8).
    #[arg(long, value_name = "N", default_value_t = sealdrop_client::DEFAULT_PARALLEL as u16, value_parser = clap::value_parser!(u16).range(1..=8))]
    pub parallel: u16,

    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// Download the files behind a secure link and decrypt them on this machine.
#[derive(Debug, Args)]
#[command(after_long_help = GET_EXAMPLES)]
pub struct GetArgs {
    /// The secure link, https://HOST/p/ID#SECRET. Quote it. The part after '#' is the
    /// secret; it never leaves this machine. Pass '-' to read the link from standard input
    /// (a link on the command line is visible in the process list).
    #[arg(value_name = "LINK")]
    pub link: String,

    /// The folder to save the files in. Existing files are never overwritten: a second
    /// "report.pdf" is saved as "report (1).pdf".
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,

    /// Your email address, when the sender required verification: a code is sent to it if
    /// it is one of the package's recipients.
    #[arg(long, env = "SEALDROP_EMAIL", value_name = "EMAIL")]
    pub email: Option<String>,

    /// The verification code from that email (use with --email). Without it, and on a
    /// terminal, you are asked for the code.
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,

    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// Network behaviour shared by `send` and `get`.
#[derive(Debug, Clone, Args)]
pub struct TransferArgs {
    /// Keep retrying (with exponential backoff) while the server is unreachable, resets the
    /// connection, or answers 5xx/429, for up to this long. An interrupted transfer resumes
    /// where it stopped.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub retry_for: Duration,

    /// Also trust the certificate authorities in this PEM file (one or a bundle), besides
    /// the built-in web roots: for a server whose certificate a private CA issued.
    #[arg(long, env = "SEALDROP_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl TransferArgs {
    /// The `--ca-file` certificates; none without it.
    fn extra_roots(&self) -> Result<ExtraRoots, ClientError> {
        match &self.ca_file {
            Some(path) => ExtraRoots::from_pem_file(path),
            None => Ok(ExtraRoots::default()),
        }
    }
}

const SEND_EXAMPLES: &str = "\
Examples:
  export SEALDROP_URL=https://sealdrop.example.com SEALDROP_TOKEN=sdt_...
  sealdrop send report.pdf
  sealdrop send scan1.png scan2.png --to jane@example.com --require-auth --expires 2d --downloads 3

The secure link is printed on standard output; progress and messages go to standard error.
Anyone holding the link can download the files until it expires (with --require-auth, only
after confirming an emailed code), so send it over a channel you trust.";

const GET_EXAMPLES: &str = "\
Examples:
  sealdrop get 'https://sealdrop.example.com/p/AbC...#xyz...' -o ~/Downloads
  echo \"$LINK\" | sealdrop get - --email jane@example.com --code 123456

Files are written as NAME.sealdrop-part and renamed only once every chunk has been
authenticated; a tampered file is deleted, never left behind. Run the same command again
after an interruption to resume.";

/// Runs `sealdrop send`: prints the secure link on standard output.
pub async fn run_send(args: SendArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.server, Credential::ApiToken(args.token.clone()))?
        .with_extra_roots(&args.transfer.extra_roots()?)?
        .with_retry(RetryPolicy::for_duration(args.transfer.retry_for))
        .with_parallel(usize::from(args.parallel))
        .with_state_dir(args.state_dir.clone().or_else(default_state_dir));
    let options = SendOptions {
        recipients: args.to.clone(),
        require_auth: args.require_auth,
        expires: args.expires,
        max_downloads: args.downloads,
        message: args.message.clone(),
    };
    let bar = Bar::new("Encrypting and sending");
    let link = client.send(&args.files, options, &bar).await?;
    let link = link.to_string();
    println!("{link}");
    Ok(())
}

/// Runs `sealdrop get`: prints the paths of the saved files on standard output.
pub async fn run_get(args: GetArgs) -> anyhow::Result<()> {
    let extra_roots = args.transfer.extra_roots()?;
    let text = if args.link == "-" {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the link from standard input")?;
        line
    } else {
        args.link.clone()
    };
    let link = SecureLink::parse(text.trim()).map_err(|_| ClientError::InvalidLink)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut email = args.email.clone();
    if email.is_none() && args.code.is_some() {
        anyhow::bail!("--code needs --email: the code is bound to the address it was sent to");
    }
    let options_for = |email: Option<String>| GetOptions {
        recipient_session: None,
        email,
        code: args.code.clone(),
        prompt_code: interactive.then(|| -> CodePrompt {
            Box::new(|email: &str| prompt(&format!("Verification code sent to {email}: ")))
        }),
        retry: RetryPolicy::for_duration(args.transfer.retry_for),
        extra_roots: extra_roots.clone(),
    };
    let bar = Bar::new("Downloading and decrypting");
    let saved = match Client::get(&link, &args.out_dir, options_for(email.clone()), &bar).await {
        Err(ClientError::VerificationRequired) if interactive && email.is_none() => {
            eprintln!("The sender requires verification by email.");
            email = prompt("Your email address: ");
            if email.is_none() {
                return Err(ClientError::VerificationRequired.into());
            }
            let bar = Bar::new("Downloading and decrypting");
            Client::get(&link, &args.out_dir, options_for(email), &bar).await?
        }
        other => other?,
    };
    for path in saved {
        println!("{}", path.display());
    }
    Ok(())
}

/// Asks a question on the terminal; `None` on an empty answer or end of input.
fn prompt(question: &str) -> Option<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(n) if n > 0 && !line.trim().is_empty() => Some(line.trim().to_owned()),
        _ => None,
    }
}

/// An indicatif bar on standard error (bytes, speed, ETA); hidden when that is not a terminal,
/// where notes and retries are printed as plain lines instead.
#[derive(Debug)]
struct Bar {
    bar: ProgressBar,
    visible: bool,
}

impl Bar {
    fn new(what: &str) -> Self {
        let visible = std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        Bar { bar, visible }
    }

    fn say(&self, line: &str) {
        if self.visible {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.reset_eta();
    }

    fn file(&self, name: &str) {
        self.bar.set_message(name.to_owned());
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn retrying(&self, reason: &str, delay: Duration) {
        self.say(&format!(
            "{reason}; retrying in {:.1} s",
            delay.as_secs_f64()
        ));
    }

    fn note(&self, text: &str) {
        self.say(text);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Parses `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("'{text}' is not a duration: use a number and a unit, e.g. 12h or 7d")
    })?;
    let unit_secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        other => {
            return Err(format!(
                "unknown duration unit '{other}': use s, m, h, d or w"
            ))
        }
    };
    number
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{text}' is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("d").is_err());
    }

    #[test]
    fn help_mentions_that_the_state_file_holds_secrets() {
        use clap::CommandFactory;
        #[derive(Debug, clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            send: SendArgs,
        }
        let help = Wrapper::command().render_long_help().to_string();
        assert!(help.contains("secrets"), "{help}");
        assert!(help.contains("--retry-for"));
    }
}
