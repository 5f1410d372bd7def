//! The simulated Zendesk account: users, tickets, comments, OAuth grants, the app's
//! installations, fault injection.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A Zendesk user as the Users API shows it (the fields sealdrop reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Primary email.
    pub email: String,
    /// `end-user`, `agent` or `admin`.
    pub role: String,
    /// Zendesk's role type: 0 custom agent role, 1 light agent, 2 chat agent, 4 admin; null for others.
    pub role_type: Option<u32>,
    /// The custom role of an agent on plans with custom roles.
    pub custom_role_id: Option<u64>,
    /// False once deleted.
    pub active: bool,
    /// Suspended users cannot sign in.
    pub suspended: bool,
}

/// A ticket (the fields sealdrop reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Ticket id.
    pub id: u64,
    /// Subject line.
    pub subject: String,
    /// The first comment's text.
    pub description: String,
    /// The customer.
    pub requester_id: u64,
    /// Who submitted it (the requester for Help Center requests).
    pub submitter_id: u64,
    /// CCs (legacy name kept by the API alongside `email_cc_ids`).
    pub collaborator_ids: Vec<u64>,
    /// Email CCs.
    pub email_cc_ids: Vec<u64>,
    /// Followers (agents).
    pub follower_ids: Vec<u64>,
    /// The ticket form it was submitted with.
    pub ticket_form_id: Option<u64>,
    /// `web`, `api`, ...
    pub via: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// A ticket comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Who wrote it.
    pub author_id: u64,
    /// Plain text body.
    pub body: String,
    /// Public reply or internal note.
    pub public: bool,
}

/// A ticket form offered in the Help Center.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketForm {
    /// Form id.
    pub id: u64,
    /// Form name.
    pub name: String,
}

/// One installation of the sealdrop app in the account, as the Apps API shows it (the fields
/// sealdrop reads). Zendesk gives every installation a new id: an app uninstalled and installed
/// again is a new installation, and ZAF tokens of the new one name the new id in `aud`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInstallation {
    /// Installation id.
    pub id: u64,
    /// RFC 3339 installation time.
    pub created_at: String,
}

/// A registered OAuth client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// The client's unique identifier (`client_id`).
    pub identifier: String,
    /// Confidential clients have a secret; public clients rely on PKCE alone.
    pub secret: Option<String>,
    /// Redirect URLs the client registered; the authorize request must use one exactly.
    pub redirect_uris: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub user_id: u64,
    pub expires: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub id: u64,
    pub client_id: String,
    pub user_id: u64,
    pub scope: String,
    pub access_token: String,
    pub access_expires: Option<Instant>,
    pub refresh_token: Option<String>,
    pub revoked: bool,
}

/// Everything the simulator holds, behind one mutex.
#[derive(Debug)]
pub(crate) struct State {
    pub users: BTreeMap<u64, User>,
    pub tickets: BTreeMap<u64, Ticket>,
    pub comments: BTreeMap<u64, Vec<Comment>>,
    pub forms: Vec<TicketForm>,
    pub clients: Vec<OAuthClient>,
    pub codes: HashMap<String, AuthCode>,
    pub grants: Vec<Grant>,
    /// The app's live installations, oldest first; the agent page opens the newest.
    pub installations: Vec<AppInstallation>,
    /// The newest installation id ever made (what the sidebar opened last, once uninstalled).
    pub last_installation_id: u64,
    pub next_id: u64,
    /// Answer the next N API calls with 429 and this Retry-After.
    pub throttle: (u32, u64),
    /// Answer the next N API calls with this 5xx status.
    pub failures: (u32, u16),
    /// Every API request served (after fault injection), as `METHOD path?query`.
    pub api_log: Vec<String>,
    /// Access token lifetime; `None` issues non-expiring tokens without refresh tokens
    /// (Zendesk's historical behaviour).
    pub access_ttl: Option<Duration>,
    /// What the Help Center's pages sent it (see [`HelpCenterLog`]).
    pub help_center: HelpCenterLog,
}

/// What browsers sent the Help Center: tests read it at `GET /sim/help_center/log` to check
/// that the theme's own submit path ran (a CSRF token was fetched and posted back), what the
/// form posted, and that no file reached Zendesk's upload endpoints.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HelpCenterLog {
    /// CSRF tokens handed out by `GET /api/v2/help_center/sessions.json` and
    /// `GET /api/v2/users/me.json` (and rendered into the classic form).
    pub csrf_tokens: Vec<String>,
    /// Every request form post, in order.
    pub posts: Vec<FormPost>,
    /// Every request to an upload endpoint (`/api/v2/uploads.json`, `/hc/request_uploads`,
    /// `/api/v2/guide/user_images/uploads`).
    pub uploads: Vec<UploadAttempt>,
    /// Other Help Center API calls the pages made (`METHOD path?query`).
    pub api_calls: Vec<String>,
}

/// One `POST /hc/en-us/requests`.
#[derive(Clone, Debug, Serialize)]
pub struct FormPost {
    /// The posted fields in order, file fields as `(name, "<file NAME, N bytes>")`.
    pub fields: Vec<(String, String)>,
    /// The answer's status (302 when a ticket was made).
    pub status: u16,
    /// Why it was refused, if it was.
    pub error: Option<String>,
    /// The ticket made.
    pub ticket_id: Option<u64>,
}

/// One request to an upload endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct UploadAttempt {
    /// `METHOD path?query`.
    pub request: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// Body size in bytes.
    pub bytes: usize,
}

impl State {
    pub fn new(access_ttl: Option<Duration>, installation_id: u64) -> Self {
        Self {
            users: BTreeMap::new(),
            tickets: BTreeMap::new(),
            comments: BTreeMap::new(),
            forms: vec![
                TicketForm {
                    id: 360_000_001,
                    name: "Default ticket form".into(),
                },
                TicketForm {
                    id: 360_000_002,
                    name: "Billing".into(),
                },
            ],
            clients: Vec::new(),
            codes: HashMap::new(),
            grants: Vec::new(),
            installations: vec![AppInstallation {
                id: installation_id,
                created_at: rfc3339_now(),
            }],
            last_installation_id: installation_id,
            next_id: 1000,
            throttle: (0, 0),
            failures: (0, 503),
            api_log: Vec::new(),
            access_ttl,
            help_center: HelpCenterLog::default(),
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Installs the app once more: a new installation with a new id, which the agent page
    /// opens from now on. Other live installations stay.
    pub fn install_app(&mut self) -> u64 {
        let id = self.last_installation_id + 1;
        self.last_installation_id = id;
        self.installations.push(AppInstallation {
            id,
            created_at: rfc3339_now(),
        });
        id
    }

    /// The installation the agent page opens: the newest live one.
    pub fn current_installation(&self) -> Option<u64> {
        self.installations.last().map(|i| i.id)
    }

    pub fn add_user(&mut self, new: NewUser) -> User {
        let id = new.id.unwrap_or_else(|| self.next_id());
        let role = new.role.unwrap_or_else(|| "end-user".into());
        let role_type = new.role_type.or(match role.as_str() {
            "admin" => Some(4),
            _ => None,
        });
        let user = User {
            id,
            name: new.name.unwrap_or_else(|| format!("User {id}")),
            email: new.email.unwrap_or_else(|| format!("user{id}@example.com")),
            role,
            role_type,
            custom_role_id: new.custom_role_id,
            active: true,
            suspended: false,
        };
        self.users.insert(id, user.clone());
        user
    }

    /// The user with this email, created as an end user if unknown (as a Help Center
    /// request from an anonymous requester does).
    pub fn end_user_by_email(&mut self, email: &str, name: Option<String>) -> u64 {
        if let Some(u) = self
            .users
            .values()
            .find(|u| u.email.eq_ignore_ascii_case(email))
        {
            return u.id;
        }
        self.add_user(NewUser {
            email: Some(email.to_string()),
            name,
            ..NewUser::default()
        })
        .id
    }

    pub fn add_ticket(&mut self, new: NewTicket) -> anyhow::Result<Ticket> {
        if !self.users.contains_key(&new.requester_id) {
            anyhow::bail!("requester {} does not exist", new.requester_id);
        }
        for id in new.collaborator_ids.iter().chain(new.follower_ids.iter()) {
            if !self.users.contains_key(id) {
                anyhow::bail!("user {id} does not exist");
            }
        }
        let id = self.next_id();
        let ticket = Ticket {
            id,
            subject: new.subject.unwrap_or_else(|| format!("Ticket {id}")),
            description: new.description.clone(),
            requester_id: new.requester_id,
            submitter_id: new.submitter_id.unwrap_or(new.requester_id),
            collaborator_ids: new.collaborator_ids.clone(),
            email_cc_ids: new.collaborator_ids,
            follower_ids: new.follower_ids,
            ticket_form_id: new.ticket_form_id,
            via: new.via.unwrap_or_else(|| "api".into()),
            created_at: rfc3339_now(),
        };
        self.tickets.insert(id, ticket.clone());
        let comment_id = self.next_id();
        self.comments.insert(
            id,
            vec![Comment {
                id: comment_id,
                author_id: ticket.submitter_id,
                body: new.description,
                public: true,
            }],
        );
        Ok(ticket)
    }
}

/// Body of `POST /sim/users`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewUser {
    /// Chosen id; one is assigned if absent.
    pub id: Option<u64>,
    /// Display name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `end-user` (default), `agent` or `admin`.
    pub role: Option<String>,
    /// Zendesk role type.
    pub role_type: Option<u32>,
    /// Custom agent role.
    pub custom_role_id: Option<u64>,
}

/// Body of `PATCH /sim/users/{id}`: only the fields present change.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UserChange {
    /// New role.
    pub role: Option<String>,
    /// New role type (`null` clears it only with `clear_role_type`).
    pub role_type: Option<u32>,
    /// New custom role.
    pub custom_role_id: Option<u64>,
    /// Clears `custom_role_id` and `role_type`.
    #[serde(default)]
    pub clear_custom_role: bool,
    /// Suspend or unsuspend.
    pub suspended: Option<bool>,
    /// Delete (deactivate) the user.
    pub active: Option<bool>,
    /// New primary email.
    pub email: Option<String>,
}

/// Body of `POST /sim/tickets`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewTicket {
    /// Subject line.
    pub subject: Option<String>,
    /// First comment.
    #[serde(default)]
    pub description: String,
    /// The customer.
    pub requester_id: u64,
    /// Submitter, the requester if absent.
    pub submitter_id: Option<u64>,
    /// CCs.
    #[serde(default)]
    pub collaborator_ids: Vec<u64>,
    /// Followers.
    #[serde(default)]
    pub follower_ids: Vec<u64>,
    /// Ticket form.
    pub ticket_form_id: Option<u64>,
    /// Channel.
    pub via: Option<String>,
}

pub(crate) fn rfc3339_now() -> String {
    // Civil-from-days (Howard Hinnant), to avoid a date dependency for one timestamp.
    let secs = crate::zaf::unix_now();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}
