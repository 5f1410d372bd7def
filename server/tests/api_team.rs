//! Team keys on the server (docs/FORMAT.md §16-§21, docs/API.md "Team keys"): agents register
//! device keys, the admin stores the wrapped admin key and publishes signed rosters (checked as
//! a client checks them), team keys refuse link-sealed Help Center uploads, the admin re-wraps
//! team-sealed packages; and the server's database and store together cannot open a
//! team-sealed package.
#![allow(clippy::unwrap_used)]

mod common;
mod zendesk_world;

use std::collections::HashSet;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::TryStreamExt;
use reqwest::{Method, StatusCode};
use sealdrop_crypto::{
    default_aead, encrypt_file, rewrap_team_package, seal_team_package, sign_roster,
    AdminSigningKey, Error as CryptoError, FileInfo, Fingerprint, LinkProof, LinkSecret, Manifest,
    Metadata, OsRandom, PackageId, PackageKey, RecoveryCode, RosterContent, RosterDevice,
    SealedPackage, ServerSecret, StanzaKind, VerifiedRoster, X25519Identity,
};
use sealdrop_server::storage::{BlobKey, PART_SIZE};
use serde_json::{json, Value};
use sqlx::Row;

use common::{test_bytes, TestApp};
use zendesk_world::{get_json, send_as, send_json, spawn, Tenant, World};

const ORIGIN: &str = "https://help.acme.example";

// ---- helpers -------------------------------------------------------------------------------

/// The tenant's admin key and recovery code, made as the admin's browser makes them.
struct Admin {
    key: AdminSigningKey,
    code: RecoveryCode,
}

impl Admin {
    fn new() -> Self {
        Self {
            key: AdminSigningKey::generate(&OsRandom).unwrap(),
            code: RecoveryCode::generate(&OsRandom).unwrap(),
        }
    }

    /// The wrapped admin key, b64u.
    fn wrapped(&self) -> String {
        URL_SAFE_NO_PAD.encode(
            self.key
                .wrap(default_aead(), &OsRandom, &self.code)
                .unwrap(),
        )
    }

    /// A signed roster of `devices` (identity, user id) for `tenant`.
    fn roster(&self, tenant: &str, sequence: u64, devices: &[(&X25519Identity, u64)]) -> Vec<u8> {
        let content = self.content(tenant, sequence, devices);
        sign_roster(&self.key, &content).unwrap().to_bytes()
    }

    fn content(
        &self,
        tenant: &str,
        sequence: u64,
        devices: &[(&X25519Identity, u64)],
    ) -> RosterContent {
        let entries = devices
            .iter()
            .map(|(d, user)| RosterDevice::new(*d.recipient().as_bytes(), *user, "laptop").unwrap())
            .collect();
        RosterContent::new(
            *self.key.public_key().as_bytes(),
            tenant,
            sequence,
            1_767_225_600,
            *self.code.recovery_recipient().as_bytes(),
            entries,
        )
        .unwrap()
    }
}

fn device() -> X25519Identity {
    X25519Identity::generate(&OsRandom).unwrap()
}

async fn register(
    app: &TestApp,
    session: &str,
    key: &X25519Identity,
    label: &str,
) -> (StatusCode, Value) {
    send_json(
        app,
        Method::POST,
        "/api/v1/me/devices",
        session,
        &json!({ "device_key": key.recipient().to_b64u(), "label": label }),
    )
    .await
}

async fn remove(app: &TestApp, session: &str, key: &str) -> StatusCode {
    app.client
        .delete(app.url(&format!("/api/v1/me/devices/{key}")))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
        .status()
}

async fn put_admin_key(app: &TestApp, bearer: &str, body: &Value) -> (StatusCode, Value) {
    send_json(app, Method::PUT, "/api/v1/team/admin-key", bearer, body).await
}

async fn publish(app: &TestApp, bearer: &str, roster: &[u8]) -> (StatusCode, Value) {
    send_json(
        app,
        Method::PUT,
        "/api/v1/team/roster",
        bearer,
        &json!({ "roster": URL_SAFE_NO_PAD.encode(roster) }),
    )
    .await
}

/// `(status, error code)` of an answer.
fn refusal((status, body): (StatusCode, Value)) -> (StatusCode, String) {
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The tenant's devices as its admin sees them, by device key.
async fn admin_listing(app: &TestApp, admin: &str) -> Value {
    let (status, body) = get_json(app, "/api/v1/team/devices", admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn device_in<'a>(listing: &'a Value, key: &X25519Identity) -> Option<&'a Value> {
    let key = key.recipient().to_b64u();
    listing["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_key"] == key.as_str())
}

/// The tenant's audit event names, newest first.
async fn audit(app: &TestApp, admin: &str) -> Vec<String> {
    let (status, body) = get_json(app, "/api/v1/audit?limit=500", admin).await;
    assert_eq!(status, StatusCode::OK);
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

/// A set-up account: its admin's session, an agent's session, the admin key stored.
struct Team {
    admin_session: String,
    agent_session: String,
    admin: Admin,
}

async fn team(world: &World, which: usize) -> Team {
    let app = &world.app;
    let tenant: &Tenant = &world.tenants[which];
    let admin_session = tenant.set_up(app).await;
    let agent_session = tenant.session(app, tenant.agent).await;
    let admin = Admin::new();
    let (status, body) = put_admin_key(
        app,
        &admin_session,
        &json!({ "wrapped_admin_key": admin.wrapped() }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Team {
        admin_session,
        agent_session,
        admin,
    }
}

/// The Help Center origin allowed; returns the widget key.
async fn enable_widget(app: &TestApp, admin: &str) -> String {
    let (status, body) = send_json(
        app,
        Method::PUT,
        "/api/v1/settings",
        admin,
        &json!({ "help_center_origins": [ORIGIN] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["widget_key"].as_str().unwrap().to_owned()
}

/// A Help Center upload as the widget makes it, sealed by `seal`; returns what was sealed, the
/// plaintext, and the manifest answer's status and body (the upload stops there unless 200).
struct WidgetUpload {
    id: PackageId,
    sealed: SealedPackage,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
    manifest_status: StatusCode,
    manifest_body: Value,
    server_secret: ServerSecret,
}

async fn widget_upload(
    app: &TestApp,
    widget_key: &str,
    seal: impl FnOnce(PackageId, &ServerSecret, &Metadata) -> SealedPackage,
) -> WidgetUpload {
    let created = app
        .client
        .post(app.url("/api/v1/packages"))
        .header("X-Sealdrop-Widget-Key", widget_key)
        .header("Origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = PackageId::parse_b64u(created["id"].as_str().unwrap()).unwrap();
    let server_secret =
        ServerSecret::parse_b64u(created["server_secret"].as_str().unwrap()).unwrap();
    let upload_token = created["upload_token"].as_str().unwrap();
    let plaintext = test_bytes(3000, 77);
    let metadata = Metadata {
        files: vec![FileInfo {
            name: "passport.pdf".into(),
            size: plaintext.len() as u64,
            media_type: "application/pdf".into(),
        }],
        message: Some("my documents".into()),
        sender: None,
    };
    let sealed = seal(id, &server_secret, &metadata);
    let ciphertext = encrypt_file(default_aead(), &sealed.file_keys[0], &plaintext);
    let verifier = LinkProof::derive(&sealed.link_secret, &id)
        .verifier()
        .to_b64u();
    let response = app
        .put_manifest(&id.to_b64u(), upload_token, &verifier, &sealed.manifest)
        .await;
    let manifest_status = response.status();
    let manifest_body: Value = response.json().await.unwrap_or(Value::Null);
    if manifest_status == StatusCode::OK {
        for (part, bytes) in ciphertext.chunks(PART_SIZE as usize).enumerate() {
            let stored = app
                .put_part(&id.to_b64u(), upload_token, 0, part as u64, bytes)
                .await;
            assert_eq!(stored.status(), StatusCode::CREATED);
        }
        let finalized = app.finalize(&id.to_b64u(), upload_token).await;
        assert_eq!(finalized.status(), StatusCode::OK);
    }
    WidgetUpload {
        id,
        sealed,
        plaintext,
        ciphertext,
        manifest_status,
        manifest_body,
        server_secret,
    }
}

/// Seals for the team of a roster the sealer verified against the pinned fingerprint, as
/// the widget does.
fn team_sealer(
    roster: &[u8],
    pin: Fingerprint,
    tenant: &str,
) -> impl FnOnce(PackageId, &ServerSecret, &Metadata) -> SealedPackage {
    let verified = VerifiedRoster::verify(roster, &pin, tenant, None).expect("the roster verifies");
    move |id, _, metadata| {
        seal_team_package(
            default_aead(),
            &OsRandom,
            id,
            metadata,
            verified.recipients(),
        )
        .unwrap()
    }
}

fn link_sealer(id: PackageId, server: &ServerSecret, metadata: &Metadata) -> SealedPackage {
    sealdrop_crypto::seal_package(default_aead(), &OsRandom, id, server, metadata, &[]).unwrap()
}

/// What an allowed agent's session gets from `open` (the manifest), with the link proof.
async fn agent_opens(
    app: &TestApp,
    upload: &WidgetUpload,
    session: Option<&str>,
) -> reqwest::Response {
    let proof = LinkProof::derive(&upload.sealed.link_secret, &upload.id).to_b64u();
    zendesk_world::with_proof_and(app, &upload.id.to_b64u(), "open", &proof, session).await
}

// ---- device keys ---------------------------------------------------------------------------

#[tokio::test]
async fn an_agent_registers_lists_and_removes_their_own_devices() {
    let world = spawn(&["acme"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let admin = acme.set_up(app).await;
    let agent = acme.session(app, acme.agent).await;

    let laptop = device();
    let (status, body) = register(app, &agent, &laptop, "Alice, work laptop ✓").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["pending_removal"], false);
    assert_eq!(body["user_id"], acme.agent.to_string());
    assert_eq!(
        body["fingerprint"],
        Fingerprint::of_device(acme.agent, &laptop.recipient()).to_display(),
        "the fingerprint of docs/FORMAT.md §17, over the user id and the key"
    );

    // Refusals, each with its code.
    assert_eq!(
        refusal(register(app, &agent, &laptop, "again").await),
        (StatusCode::CONFLICT, "device_key_registered".into())
    );
    let (status, body) = send_json(
        app,
        Method::POST,
        "/api/v1/me/devices",
        &agent,
        &json!({ "device_key": URL_SAFE_NO_PAD.encode([0u8; 32]), "label": "x" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_device_key"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("low-order"),
        "{body}"
    );
    let (status, body) = send_json(
        app,
        Method::POST,
        "/api/v1/me/devices",
        &agent,
        &json!({ "device_key": "not a key", "label": "x" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_device_key"))
    );
    for label in ["", "tab\there", "rtl\u{202e}override", &"x".repeat(65)] {
        let (status, body) = register(app, &agent, &device(), label).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{label:?}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with("label:"),
            "{body}"
        );
    }
    // Device keys belong to agents, not to the tenant's API token.
    let (status, _) = get_json(app, "/api/v1/me/devices", &app.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin registers a device too; each sees their own only.
    let admin_device = device();
    assert_eq!(
        register(app, &admin, &admin_device, "admin").await.0,
        StatusCode::CREATED
    );
    let (_, mine) = get_json(app, "/api/v1/me/devices", &agent).await;
    let mine = mine["devices"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["device_key"], laptop.recipient().to_b64u());
    assert_eq!(mine[0]["label"], "Alice, work laptop ✓");
    // No one removes another's device.
    assert_eq!(
        remove(app, &agent, &admin_device.recipient().to_b64u()).await,
        StatusCode::NOT_FOUND
    );

    // The admin's listing: everyone's, with fingerprints; an agent may not read it.
    let listing = admin_listing(app, &admin).await;
    assert_eq!(listing["devices"].as_array().unwrap().len(), 2);
    assert_eq!(listing["roster_sequence"], Value::Null);
    let (status, _) = get_json(app, "/api/v1/team/devices", &agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // At most 8 devices per agent.
    for i in 1..8 {
        assert_eq!(
            register(app, &agent, &device(), &format!("d{i}")).await.0,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        refusal(register(app, &agent, &device(), "ninth").await),
        (StatusCode::CONFLICT, "too_many_devices".into())
    );

    // A pending device goes at once; removing it again is unknown.
    let key = laptop.recipient().to_b64u();
    assert_eq!(remove(app, &agent, &key).await, StatusCode::NO_CONTENT);
    assert_eq!(remove(app, &agent, &key).await, StatusCode::NOT_FOUND);
    let listing = admin_listing(app, &admin).await;
    assert!(device_in(&listing, &laptop).is_none());
    // Removed, the key may be registered again.
    assert_eq!(
        register(app, &agent, &laptop, "back").await.0,
        StatusCode::CREATED
    );

    let events = audit(app, &admin).await;
    assert_eq!(
        events.iter().filter(|e| *e == "device_registered").count(),
        10
    );
    assert_eq!(events.iter().filter(|e| *e == "device_removed").count(), 1);

    // The tenant export lists the devices by fingerprint, never by key.
    let (status, export) = get_json(app, "/api/v1/tenant/export", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(export["devices"].as_array().unwrap().len(), 9);
    assert!(
        !export.to_string().contains(&key),
        "no device key in the export"
    );
    let csv = app
        .client
        .get(app.url("/api/v1/tenant/export?format=csv&table=devices"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("user_id,label,fingerprint,status,registered_at,removed_at\r\n"),
        "{csv}"
    );
    assert!(csv.contains("Alice") || csv.contains("back"), "{csv}");
}

// ---- the admin key -------------------------------------------------------------------------

#[tokio::test]
async fn the_admin_stores_reads_and_replaces_the_wrapped_admin_key() {
    let world = spawn(&["acme"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let admin = acme.set_up(app).await;
    let agent = acme.session(app, acme.agent).await;
    let first = Admin::new();

    assert_eq!(
        get_json(app, "/api/v1/team/admin-key", &admin).await.0,
        StatusCode::NOT_FOUND
    );
    // Only admins.
    let body = json!({ "wrapped_admin_key": first.wrapped() });
    assert_eq!(
        put_admin_key(app, &agent, &body).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_json(app, "/api/v1/team/admin-key", &agent).await.0,
        StatusCode::FORBIDDEN
    );
    // Not a wrapped admin key: another magic, or a public key no signature verifies under.
    let mut bytes = URL_SAFE_NO_PAD.decode(first.wrapped()).unwrap();
    bytes[0] ^= 1;
    assert_eq!(
        refusal(
            put_admin_key(
                app,
                &admin,
                &json!({ "wrapped_admin_key": URL_SAFE_NO_PAD.encode(&bytes) })
            )
            .await
        ),
        (StatusCode::BAD_REQUEST, "invalid_admin_key_blob".into())
    );
    let mut bytes = URL_SAFE_NO_PAD.decode(first.wrapped()).unwrap();
    bytes[9..41].copy_from_slice(&[0; 32]);
    bytes[9] = 1; // the identity point: small order
    assert_eq!(
        refusal(
            put_admin_key(
                app,
                &admin,
                &json!({ "wrapped_admin_key": URL_SAFE_NO_PAD.encode(&bytes) })
            )
            .await
        ),
        (StatusCode::BAD_REQUEST, "invalid_admin_key_blob".into())
    );

    let (status, stored) = put_admin_key(app, &admin, &body).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["fingerprint"], first.key.fingerprint().to_compact());
    assert_eq!(stored["admin_key"], first.key.public_key().to_b64u());
    // The admin reads it back and opens it with the recovery code, in the browser.
    let (status, read) = get_json(app, "/api/v1/team/admin-key", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, stored);
    let blob = URL_SAFE_NO_PAD
        .decode(read["wrapped_admin_key"].as_str().unwrap())
        .unwrap();
    let unwrapped = AdminSigningKey::unwrap(default_aead(), &blob, &first.code).unwrap();
    assert_eq!(unwrapped.public_key(), first.key.public_key());
    // The same bytes again change nothing.
    assert_eq!(put_admin_key(app, &admin, &body).await.0, StatusCode::OK);

    // Another key: refused unless replace says so (the admin key and the code both lost).
    let second = Admin::new();
    let other = json!({ "wrapped_admin_key": second.wrapped() });
    assert_eq!(
        refusal(put_admin_key(app, &admin, &other).await),
        (StatusCode::CONFLICT, "admin_key_exists".into())
    );
    let replace = json!({ "wrapped_admin_key": second.wrapped(), "replace": true });
    assert_eq!(
        put_admin_key(app, &agent, &replace).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, replaced) = put_admin_key(app, &admin, &replace).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        replaced["fingerprint"],
        second.key.fingerprint().to_compact()
    );

    let events = audit(app, &admin).await;
    assert_eq!(events.iter().filter(|e| *e == "admin_key_set").count(), 1);
    assert_eq!(
        events.iter().filter(|e| *e == "admin_key_replaced").count(),
        1
    );
    let (_, page) = get_json(app, "/api/v1/audit?event=admin_key_replaced", &admin).await;
    let detail = &page["events"][0]["detail"];
    assert_eq!(detail["fingerprint"], second.key.fingerprint().to_compact());
    assert_eq!(
        detail["previous_fingerprint"],
        first.key.fingerprint().to_compact()
    );
    assert_eq!(detail["by"], format!("agent:{}", acme.admin));
}

// ---- the roster ----------------------------------------------------------------------------

#[tokio::test]
async fn a_roster_is_checked_as_a_client_checks_it_and_approves_its_devices() {
    let world = spawn(&["acme"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let admin_session = acme.set_up(app).await;
    let agent = acme.session(app, acme.agent).await;
    let admin = Admin::new();
    let (alice, bob) = (device(), device());
    assert_eq!(
        register(app, &agent, &alice, "alice").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        register(app, &admin_session, &bob, "bob").await.0,
        StatusCode::CREATED
    );

    let first = admin.roster("acme", 1, &[(&alice, acme.agent)]);
    assert_eq!(
        refusal(publish(app, &admin_session, &first).await),
        (StatusCode::CONFLICT, "admin_key_required".into()),
        "the admin key comes first"
    );
    assert_eq!(
        put_admin_key(
            app,
            &admin_session,
            &json!({ "wrapped_admin_key": admin.wrapped() })
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        get_json(app, "/api/v1/team/roster", &agent).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        publish(app, &agent, &first).await.0,
        StatusCode::FORBIDDEN,
        "admins only"
    );

    let (status, published) = publish(app, &admin_session, &first).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["sequence"], 1);
    let listing = admin_listing(app, &admin_session).await;
    assert_eq!(listing["roster_sequence"], 1);
    assert_eq!(device_in(&listing, &alice).unwrap()["status"], "approved");
    assert_eq!(device_in(&listing, &bob).unwrap()["status"], "pending");

    // Agents and the widget read it, byte for byte, and verify it themselves.
    let (status, read) = get_json(app, "/api/v1/team/roster", &agent).await;
    assert_eq!(status, StatusCode::OK);
    let served = URL_SAFE_NO_PAD
        .decode(read["roster"].as_str().unwrap())
        .unwrap();
    assert_eq!(served, first);
    VerifiedRoster::verify(&served, &admin.key.fingerprint(), "acme", None).expect("verifies");
    let widget_key = enable_widget(app, &admin_session).await;
    let from_widget: Value = app
        .client
        .get(app.url("/widget/v1/roster"))
        .header("X-Sealdrop-Widget-Key", &widget_key)
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(from_widget, read);
    let elsewhere = app
        .client
        .get(app.url("/widget/v1/roster"))
        .header("X-Sealdrop-Widget-Key", &widget_key)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);

    // Refusals, each with its code; nothing is stored.
    let both = [(&alice, acme.agent), (&bob, acme.admin)];
    let check = |roster: Vec<u8>, expected: (StatusCode, &'static str)| {
        let session = admin_session.clone();
        async move {
            let (status, body) = publish(app, &session, &roster).await;
            assert_eq!(
                (status, body["error"].as_str().unwrap_or_default()),
                expected,
                "{body}"
            );
        }
    };
    // Rolled back: the same sequence, or a lower one.
    check(
        admin.roster("acme", 1, &both),
        (StatusCode::CONFLICT, "roster_rolled_back"),
    )
    .await;
    // Signed by another key, for that key.
    let stranger = Admin::new();
    check(
        stranger.roster("acme", 2, &both),
        (StatusCode::BAD_REQUEST, "admin_key_mismatch"),
    )
    .await;
    // Forged: names the stored admin key, signed by another.
    let mut forged = admin.roster("acme", 2, &both);
    let stranger_signed = {
        let content = stranger.content("acme", 2, &both);
        sign_roster(&stranger.key, &content).unwrap().to_bytes()
    };
    let signature_at = forged.len() - 64;
    forged[signature_at..].copy_from_slice(&stranger_signed[stranger_signed.len() - 64..]);
    check(
        forged,
        (StatusCode::BAD_REQUEST, "roster_signature_invalid"),
    )
    .await;
    // Another tenant's.
    check(
        admin.roster("globex", 2, &both),
        (StatusCode::BAD_REQUEST, "roster_tenant_mismatch"),
    )
    .await;
    // Sixteen devices: more than a manifest's stanzas allow.
    let mut sixteen = admin.content("acme", 2, &[]).to_body();
    let count_at = sixteen.len() - 1;
    sixteen[count_at] = 16;
    sixteen.extend_from_slice(&[0; 64]);
    check(sixteen, (StatusCode::BAD_REQUEST, "invalid_roster")).await;
    // A low-order device key, even signed.
    let low = RosterContent::new(
        *admin.key.public_key().as_bytes(),
        "acme",
        2,
        0,
        *admin.code.recovery_recipient().as_bytes(),
        vec![RosterDevice::new([0; 32], acme.agent, "bad").unwrap()],
    )
    .unwrap();
    check(
        sign_roster(&admin.key, &low).unwrap().to_bytes(),
        (StatusCode::BAD_REQUEST, "invalid_roster"),
    )
    .await;
    // A device nobody registered, or registered for another user.
    check(
        admin.roster("acme", 2, &[(&device(), acme.agent)]),
        (StatusCode::BAD_REQUEST, "invalid_roster"),
    )
    .await;
    check(
        admin.roster("acme", 2, &[(&alice, acme.admin)]),
        (StatusCode::BAD_REQUEST, "invalid_roster"),
    )
    .await;
    check(
        b"SDROSTER".to_vec(),
        (StatusCode::BAD_REQUEST, "invalid_roster"),
    )
    .await;
    let (status, read) = get_json(app, "/api/v1/team/roster", &agent).await;
    assert_eq!(
        (status, &read["sequence"]),
        (StatusCode::OK, &json!(1)),
        "still the first"
    );

    // The next roster approves bob.
    let (status, _) = publish(app, &admin_session, &admin.roster("acme", 5, &both)).await;
    assert_eq!(status, StatusCode::OK);
    let listing = admin_listing(app, &admin_session).await;
    assert_eq!(device_in(&listing, &bob).unwrap()["status"], "approved");
    check(
        admin.roster("acme", 4, &both),
        (StatusCode::CONFLICT, "roster_rolled_back"),
    )
    .await;

    let (_, page) = get_json(app, "/api/v1/audit?event=roster_published", &admin_session).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["detail"]["sequence"], 5);
    assert_eq!(events[0]["detail"]["approved"], 1);
    assert_eq!(
        events[0]["detail"]["fingerprint"],
        admin.key.fingerprint().to_compact()
    );
}

#[tokio::test]
async fn a_device_its_agent_removes_is_pending_removal_until_a_roster_leaves_it_out() {
    let world = spawn(&["acme"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let team = team(&world, 0).await;
    let (alice, old) = (device(), device());
    register(app, &team.agent_session, &alice, "alice").await;
    register(app, &team.agent_session, &old, "old laptop").await;
    let roster = team
        .admin
        .roster("acme", 1, &[(&alice, acme.agent), (&old, acme.agent)]);
    assert_eq!(
        publish(app, &team.admin_session, &roster).await.0,
        StatusCode::OK
    );

    assert_eq!(
        remove(app, &team.agent_session, &old.recipient().to_b64u()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        remove(app, &team.agent_session, &old.recipient().to_b64u()).await,
        StatusCode::NO_CONTENT,
        "again: nothing changes"
    );
    let listing = admin_listing(app, &team.admin_session).await;
    let entry = device_in(&listing, &old).unwrap();
    assert_eq!(entry["status"], "removed");
    assert_eq!(entry["pending_removal"], true);
    assert!(entry["removed_at"].is_string());
    assert_eq!(
        device_in(&listing, &alice).unwrap()["pending_removal"],
        false
    );
    // Still listed (the roster has it) until the admin signs one without it.
    let roster = team.admin.roster("acme", 2, &[(&alice, acme.agent)]);
    let (status, _) = publish(app, &team.admin_session, &roster).await;
    assert_eq!(status, StatusCode::OK);
    let listing = admin_listing(app, &team.admin_session).await;
    assert!(
        device_in(&listing, &old).is_none(),
        "gone with the roster that left it out"
    );
    // A device the admin leaves out loses its approval: the row goes.
    let roster = team.admin.roster("acme", 3, &[]);
    assert_eq!(
        publish(app, &team.admin_session, &roster).await.0,
        StatusCode::OK
    );
    let listing = admin_listing(app, &team.admin_session).await;
    assert!(
        listing["devices"].as_array().unwrap().is_empty(),
        "{listing}"
    );

    let (_, page) = get_json(
        app,
        "/api/v1/audit?event=roster_published",
        &team.admin_session,
    )
    .await;
    assert_eq!(page["events"][1]["detail"]["removals_completed"], 1);
    assert_eq!(page["events"][0]["detail"]["dropped"], 1);
    let (_, page) = get_json(
        app,
        "/api/v1/audit?event=device_removed",
        &team.admin_session,
    )
    .await;
    assert_eq!(page["events"][0]["detail"]["pending_removal"], true);
}

// ---- team keys on --------------------------------------------------------------------------

#[tokio::test]
async fn team_keys_need_a_roster_and_then_refuse_link_sealed_help_center_uploads() {
    let world = spawn(&["acme"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let team = team(&world, 0).await;
    let widget_key = enable_widget(app, &team.admin_session).await;
    let on = json!({ "team_keys": true });
    assert_eq!(
        refusal(
            send_json(
                app,
                Method::PUT,
                "/api/v1/settings",
                &team.admin_session,
                &on
            )
            .await
        ),
        (StatusCode::CONFLICT, "roster_required".into())
    );
    let alice = device();
    register(app, &team.agent_session, &alice, "alice").await;
    let roster = team.admin.roster("acme", 1, &[(&alice, acme.agent)]);
    assert_eq!(
        publish(app, &team.admin_session, &roster).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send_json(
            app,
            Method::PUT,
            "/api/v1/settings",
            &team.agent_session,
            &on
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, settings) = send_json(
        app,
        Method::PUT,
        "/api/v1/settings",
        &team.admin_session,
        &on,
    )
    .await;
    assert_eq!(
        (status, &settings["team_keys"]),
        (StatusCode::OK, &json!(true))
    );
    let config: Value = app
        .client
        .get(app.url("/widget/v1/config"))
        .header("X-Sealdrop-Widget-Key", &widget_key)
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["team_keys"], true);

    // A link-sealed Help Center upload is refused at its manifest.
    let refused = widget_upload(app, &widget_key, link_sealer).await;
    assert_eq!(refused.manifest_status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.manifest_body["error"], "team_sealed_required");
    // A team-sealed one goes through, and an allowed agent opens it with the device key.
    let sealed = widget_upload(
        app,
        &widget_key,
        team_sealer(&roster, team.admin.key.fingerprint(), "acme"),
    )
    .await;
    assert_eq!(
        sealed.manifest_status,
        StatusCode::OK,
        "{}",
        sealed.manifest_body
    );
    // The role checks stay: without an allowed agent session, no manifest.
    let opened = agent_opens(app, &sealed, None).await;
    assert_eq!(opened.status(), StatusCode::UNAUTHORIZED);
    let opened = agent_opens(app, &sealed, Some(&team.agent_session)).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let opened: Value = opened.json().await.unwrap();
    let manifest = Manifest::parse(
        &STANDARD
            .decode(opened["manifest"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let package = manifest
        .open_team(default_aead(), &alice, &sealed.sealed.link_secret)
        .expect("the device opens it");
    assert_eq!(
        package
            .decrypt_file(default_aead(), 0, &sealed.ciphertext)
            .unwrap(),
        sealed.plaintext
    );
    // Agents' own sends keep the link.
    let sent = send_as(app, &team.agent_session, &json!({}), &[test_bytes(500, 1)]).await;
    assert_eq!(app.receive(&sent.id, &sent.link_secret).await.len(), 1);

    // Off again: link-sealed uploads are accepted.
    let off = json!({ "team_keys": false });
    assert_eq!(
        send_json(
            app,
            Method::PUT,
            "/api/v1/settings",
            &team.admin_session,
            &off
        )
        .await
        .0,
        StatusCode::OK
    );
    let accepted = widget_upload(app, &widget_key, link_sealer).await;
    assert_eq!(accepted.manifest_status, StatusCode::OK);
    let events = audit(app, &team.admin_session).await;
    assert!(events.contains(&"team_keys_enabled".to_owned()));
    assert!(events.contains(&"team_keys_disabled".to_owned()));
}

// ---- re-wrapping ---------------------------------------------------------------------------

#[tokio::test]
async fn an_admin_rewraps_a_team_sealed_package_to_the_current_roster() {
    let world = spawn(&["acme", "globex"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let team = team(&world, 0).await;
    let widget_key = enable_widget(app, &team.admin_session).await;
    let (alice, removed, newcomer) = (device(), device(), device());
    register(app, &team.agent_session, &alice, "alice").await;
    register(app, &team.agent_session, &removed, "lost laptop").await;
    let first = team
        .admin
        .roster("acme", 1, &[(&alice, acme.agent), (&removed, acme.agent)]);
    assert_eq!(
        publish(app, &team.admin_session, &first).await.0,
        StatusCode::OK
    );
    let upload = widget_upload(
        app,
        &widget_key,
        team_sealer(&first, team.admin.key.fingerprint(), "acme"),
    )
    .await;
    assert_eq!(upload.manifest_status, StatusCode::OK);
    let path = format!("/api/v1/team/packages/{}/manifest", upload.id.to_b64u());

    // The next roster: the lost laptop out, a new device in.
    remove(app, &team.agent_session, &removed.recipient().to_b64u()).await;
    register(app, &team.agent_session, &newcomer, "new laptop").await;
    let second = team
        .admin
        .roster("acme", 2, &[(&alice, acme.agent), (&newcomer, acme.agent)]);
    assert_eq!(
        publish(app, &team.admin_session, &second).await.0,
        StatusCode::OK
    );

    // The admin's browser lists the team-sealed packages, fetches the manifest, opens K with
    // the recovery code, re-wraps.
    let link_upload = widget_upload(app, &widget_key, link_sealer).await;
    assert_eq!(link_upload.manifest_status, StatusCode::OK);
    let (status, listed) = get_json(app, "/api/v1/team/packages", &team.admin_session).await;
    assert_eq!(status, StatusCode::OK);
    let listed = listed["packages"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        1,
        "the link-sealed upload is not listed: {listed:?}"
    );
    assert_eq!(listed[0]["id"], upload.id.to_b64u());
    assert_eq!(listed[0]["stanzas"], 3);
    assert_eq!(
        get_status(app, "/api/v1/team/packages", &team.agent_session).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_status(app, &path, &team.agent_session).await,
        StatusCode::FORBIDDEN
    );
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(&team.admin_session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stored = response.bytes().await.unwrap().to_vec();
    assert_eq!(stored, upload.sealed.manifest);
    let manifest = Manifest::parse(&stored).unwrap();
    let opened = manifest
        .open_with_x25519(default_aead(), &team.admin.code.recovery_identity())
        .expect("the recovery code opens every team-sealed package");
    let verified =
        VerifiedRoster::verify(&second, &team.admin.key.fingerprint(), "acme", Some(1)).unwrap();
    let rewrapped = rewrap_team_package(
        default_aead(),
        &OsRandom,
        &manifest,
        &opened,
        verified.recipients(),
    )
    .unwrap();

    // Refusals first: not the same package, a link stanza, another tenant, not an admin.
    let other_seal = seal_team_package(
        default_aead(),
        &OsRandom,
        upload.id,
        &Metadata {
            files: vec![FileInfo {
                name: "other.pdf".into(),
                size: 3000,
                media_type: "application/pdf".into(),
            }],
            message: None,
            sender: None,
        },
        verified.recipients(),
    )
    .unwrap();
    let (status, code) = put_manifest(app, &path, &team.admin_session, &other_seal.manifest).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "rewrap_mismatch"),
        "another file table and metadata"
    );
    let link = link_sealer(
        upload.id,
        &upload.server_secret,
        &Metadata {
            files: vec![FileInfo {
                name: "x".into(),
                size: 3000,
                media_type: "x/y".into(),
            }],
            message: None,
            sender: None,
        },
    );
    let (status, code) = put_manifest(app, &path, &team.admin_session, &link.manifest).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "rewrap_mismatch"),
        "a link stanza"
    );
    let (status, code) = put_manifest(app, &path, &team.admin_session, b"not a manifest").await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    assert_eq!(
        put_manifest(app, &path, &team.agent_session, &rewrapped)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let globex_admin = world.tenants[1].set_up(app).await;
    assert_eq!(
        put_manifest(app, &path, &globex_admin, &rewrapped).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_status(app, &path, &globex_admin).await,
        StatusCode::NOT_FOUND
    );

    let response = app
        .client
        .put(app.url(&path))
        .bearer_auth(&team.admin_session)
        .body(rewrapped.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({ "id": upload.id.to_b64u(), "stanzas": 3, "replaced": true })
    );
    // Again: nothing changes.
    let again: Value = app
        .client
        .put(app.url(&path))
        .bearer_auth(&team.admin_session)
        .body(rewrapped.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["replaced"], false);

    // What agents now get opens with the new device and not with the removed one; the
    // ciphertext did not change.
    let opened = agent_opens(app, &upload, Some(&team.agent_session)).await;
    let opened: Value = opened.json().await.unwrap();
    let served = STANDARD
        .decode(opened["manifest"].as_str().unwrap())
        .unwrap();
    assert_eq!(served, rewrapped);
    let served = Manifest::parse(&served).unwrap();
    let link_secret = &upload.sealed.link_secret;
    let package = served
        .open_team(default_aead(), &newcomer, link_secret)
        .expect("the new device opens it");
    assert_eq!(
        package
            .decrypt_file(default_aead(), 0, &upload.ciphertext)
            .unwrap(),
        upload.plaintext
    );
    assert_eq!(
        served
            .open_team(default_aead(), &removed, link_secret)
            .err(),
        Some(CryptoError::NoUsableStanza)
    );
    assert!(served
        .open_team(default_aead(), &alice, link_secret)
        .is_ok());

    // A package with a link stanza has nothing to re-wrap.
    let sent = send_as(app, &team.agent_session, &json!({}), &[test_bytes(500, 1)]).await;
    let link_path = format!("/api/v1/team/packages/{}/manifest", sent.id);
    assert_eq!(
        put_manifest(app, &link_path, &team.admin_session, &sent.manifest).await,
        (StatusCode::CONFLICT, "not_team_sealed".to_owned())
    );
    assert_eq!(
        get_status(app, &link_path, &team.admin_session).await,
        StatusCode::CONFLICT
    );

    let (_, page) = get_json(
        app,
        "/api/v1/audit?event=package_rewrapped",
        &team.admin_session,
    )
    .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["package"], upload.id.to_b64u());
    assert_eq!(events[0]["detail"]["stanzas_before"], 3);
}

async fn get_status(app: &TestApp, path: &str, bearer: &str) -> StatusCode {
    app.client
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .status()
}

async fn put_manifest(
    app: &TestApp,
    path: &str,
    bearer: &str,
    bytes: &[u8],
) -> (StatusCode, String) {
    let response = app
        .client
        .put(app.url(path))
        .bearer_auth(bearer)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

// ---- tenants -------------------------------------------------------------------------------

#[tokio::test]
async fn one_account_sees_nothing_of_anothers_team_and_deleting_an_account_takes_it_all() {
    let world = spawn(&["acme", "globex"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let team = team(&world, 0).await;
    let alice = device();
    register(app, &team.agent_session, &alice, "alice").await;
    let roster = team.admin.roster("acme", 1, &[(&alice, acme.agent)]);
    assert_eq!(
        publish(app, &team.admin_session, &roster).await.0,
        StatusCode::OK
    );

    let globex = &world.tenants[1];
    let globex_admin = globex.set_up(app).await;
    let globex_agent = globex.session(app, globex.agent).await;
    let listing = admin_listing(app, &globex_admin).await;
    assert!(listing["devices"].as_array().unwrap().is_empty());
    assert_eq!(
        get_json(app, "/api/v1/team/roster", &globex_agent).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_json(app, "/api/v1/team/admin-key", &globex_admin)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        remove(app, &globex_agent, &alice.recipient().to_b64u()).await,
        StatusCode::NOT_FOUND
    );
    // acme's roster is not globex's: signed for acme, and by a key globex did not store.
    let admin = Admin::new();
    put_admin_key(
        app,
        &globex_admin,
        &json!({ "wrapped_admin_key": admin.wrapped() }),
    )
    .await;
    assert_eq!(
        refusal(publish(app, &globex_admin, &roster).await).1,
        "admin_key_mismatch"
    );
    // The same key may be registered in two accounts (one browser, two Zendesks).
    assert_eq!(
        register(app, &globex_agent, &alice, "alice at globex")
            .await
            .0,
        StatusCode::CREATED
    );

    // Deleting acme takes its devices, admin key and roster; globex keeps its own.
    let tenant: String =
        sqlx::query_scalar("SELECT id FROM tenants WHERE zendesk_subdomain = 'acme'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    let (_, settings) = get_json(app, "/api/v1/settings", &team.admin_session).await;
    let (status, body) = send_json(
        app,
        Method::POST,
        "/api/v1/tenant/deletion",
        &team.admin_session,
        &json!({ "confirm": settings["tenant_name"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for table in ["team_devices", "team_keys"] {
        let left: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(&tenant)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    assert_eq!(
        admin_listing(app, &globex_admin).await["devices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---- what the server holds cannot open a team-sealed package -------------------------------

/// Every row of every table of the server's database, as bytes: blobs as they are, text as
/// UTF-8, numbers as decimal text.
async fn dump_database(app: &TestApp) -> (Vec<u8>, Vec<String>) {
    let pool = app.state.db.pool();
    let mut out = Vec::new();
    let tables: Vec<String> = if app.database == "sqlite" {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(pool)
            .await
            .unwrap()
    } else {
        sqlx::query_scalar(
            "SELECT table_name::TEXT FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    };
    for table in &tables {
        // sqlx's Any driver reads text, numbers and bytes: every column but the binary ones as
        // text (SQLite's migrations table has a datetime).
        let columns: Vec<(String, String)> = if app.database == "sqlite" {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap()
        } else {
            sqlx::query_as(
                "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap()
        };
        let list: Vec<String> = columns
            .iter()
            .map(|(name, kind)| match kind.to_ascii_lowercase().as_str() {
                "bytea" | "blob" => format!("\"{name}\""),
                _ => format!("CAST(\"{name}\" AS TEXT)"),
            })
            .collect();
        assert!(!list.is_empty(), "{table} has columns");
        let select = format!("SELECT {} FROM \"{table}\"", list.join(", "));
        for row in sqlx::query(&select).fetch_all(pool).await.unwrap() {
            for i in 0..row.len() {
                if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                    out.extend(v.unwrap_or_default());
                } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                    out.extend(v.unwrap_or_default().into_bytes());
                } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                    out.extend(v.map(|v| v.to_string()).unwrap_or_default().into_bytes());
                } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                    out.extend(v.map(|v| v.to_string()).unwrap_or_default().into_bytes());
                } else {
                    panic!("{table}: column {i} is of a type this dump cannot read");
                }
                out.push(0);
            }
        }
    }
    (out, tables)
}

/// Every object of the blob store, whole.
async fn dump_store(app: &TestApp) -> (Vec<u8>, usize) {
    let storage = &app.state.storage;
    let keys = storage
        .list(&BlobKey::parse("packages").unwrap())
        .await
        .unwrap();
    let sizes: Vec<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT package_id, file, part, size FROM parts")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    let mut out = Vec::new();
    for key in &keys {
        let size = sizes
            .iter()
            .find(|(id, file, part, _)| key.ends_with(&format!("packages/{id}/{file}/{part:06}")))
            .unwrap_or_else(|| panic!("an object the database does not know: {key}"))
            .3;
        let key = BlobKey::parse(key).unwrap();
        let stream = storage.read_range(&key, 0..size as u64).await.unwrap();
        let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
        chunks.iter().for_each(|c| out.extend_from_slice(c));
    }
    (out, keys.len())
}

/// Every file under the server's data folder (SQLite files, blob folder, the server's own
/// keys), raw.
fn dump_files(dir: &Path, out: &mut Vec<u8>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            dump_files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.extend(bytes);
        }
    }
}

/// The 32-byte values the text of a dump encodes: runs of base64url (or base64) of 43 or 44
/// characters and of hex of 64.
fn encoded_keys(dump: &[u8]) -> Vec<[u8; 32]> {
    let mut found = Vec::new();
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/');
    let mut start = 0;
    while start < dump.len() {
        if !is_b64(dump[start]) {
            start += 1;
            continue;
        }
        let end = dump[start..]
            .iter()
            .position(|b| !is_b64(*b))
            .map_or(dump.len(), |n| start + n);
        let run = &dump[start..end];
        for window in run.windows(43) {
            let text: String = window
                .iter()
                .map(|b| match b {
                    b'+' => '-',
                    b'/' => '_',
                    b => *b as char,
                })
                .collect();
            if let Ok(bytes) = URL_SAFE_NO_PAD.decode(&text) {
                if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                    found.push(key);
                }
            }
        }
        for window in run.windows(64) {
            if let Ok(bytes) = hex::decode(window) {
                if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                    found.push(key);
                }
            }
        }
        start = end;
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Each secret in the forms a server might keep it: raw, base64url, base64, hex.
fn forms(secret: &[u8]) -> Vec<Vec<u8>> {
    vec![
        secret.to_vec(),
        URL_SAFE_NO_PAD.encode(secret).into_bytes(),
        STANDARD.encode(secret).into_bytes(),
        hex::encode(secret).into_bytes(),
    ]
}

#[tokio::test]
async fn the_servers_database_and_store_together_cannot_open_a_team_sealed_package() {
    let world = spawn(&["acme"]).await;
    let app = &world.app;
    let acme = &world.tenants[0];
    let team = team(&world, 0).await;
    let widget_key = enable_widget(app, &team.admin_session).await;
    // Two devices (the agent's and the admin's) and the recovery key; private keys only here.
    let (alice, boss) = (device(), device());
    assert_eq!(
        register(app, &team.agent_session, &alice, "alice").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        register(app, &team.admin_session, &boss, "boss").await.0,
        StatusCode::CREATED
    );
    let roster = team
        .admin
        .roster("acme", 1, &[(&alice, acme.agent), (&boss, acme.admin)]);
    assert_eq!(
        publish(app, &team.admin_session, &roster).await.0,
        StatusCode::OK
    );
    let on = json!({ "team_keys": true });
    assert_eq!(
        send_json(
            app,
            Method::PUT,
            "/api/v1/settings",
            &team.admin_session,
            &on
        )
        .await
        .0,
        StatusCode::OK
    );

    // The widget seals to the verified roster and uploads through the server.
    let upload = widget_upload(
        app,
        &widget_key,
        team_sealer(&roster, team.admin.key.fingerprint(), "acme"),
    )
    .await;
    assert_eq!(
        upload.manifest_status,
        StatusCode::OK,
        "{}",
        upload.manifest_body
    );
    let aead = default_aead();
    let opened = Manifest::parse(&upload.sealed.manifest)
        .unwrap()
        .open_with_x25519(aead, &alice)
        .unwrap();
    let package_key: [u8; 32] = *opened.package_key().expose_bytes();
    // An agent opening it through the server changes nothing the server holds about keys.
    assert_eq!(
        agent_opens(app, &upload, Some(&team.agent_session))
            .await
            .status(),
        StatusCode::OK
    );

    // Everything the server holds: every row of every table, every object of the store.
    let (rows, tables) = dump_database(app).await;
    for table in [
        "packages",
        "team_keys",
        "team_devices",
        "tenant_settings",
        "audit_events",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} dumped: {tables:?}"
        );
    }
    let (objects, object_count) = dump_store(app).await;
    assert!(object_count >= 1, "the upload's part is in the store");
    assert!(
        contains(&objects, &upload.ciphertext),
        "the store holds the ciphertext"
    );
    let stored_manifest: Vec<u8> =
        sqlx::query_scalar("SELECT manifest FROM packages WHERE id = $1")
            .bind(upload.id.to_b64u())
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(stored_manifest, upload.sealed.manifest);
    let mut dump = rows.clone();
    dump.extend(&objects);
    let mut everything = dump.clone();
    dump_files(app.data_dir.path(), &mut everything);

    // (a) K, the file keys, C, the device private keys, the recovery code and what it derives,
    // and the admin's signing key appear nowhere, in any form.
    let recovery = team.admin.code.recovery_identity();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("the package key K", package_key.to_vec()),
        (
            "the file key",
            opened.file_key(0).unwrap().expose_for_backend().to_vec(),
        ),
        (
            "the link secret C",
            upload.sealed.link_secret.expose_bytes().to_vec(),
        ),
        ("alice's device key", alice.to_bytes().to_vec()),
        ("the admin's device key", boss.to_bytes().to_vec()),
        ("the recovery identity", recovery.to_bytes().to_vec()),
        ("the recovery code", team.admin.code.expose_bytes().to_vec()),
        (
            "the recovery code's text",
            team.admin.code.to_text().as_bytes().to_vec(),
        ),
        ("the admin signing key", team.admin.key.to_bytes().to_vec()),
    ];
    for (what, secret) in &secrets {
        for form in forms(secret) {
            assert!(
                !contains(&everything, &form),
                "{what} is in what the server holds"
            );
        }
    }

    // (b) No 32 bytes of the dump (raw, or as base64url, base64 or hex text) open the manifest
    // as an X25519 identity, or are its package key.
    let manifest = Manifest::parse(&stored_manifest).unwrap();
    let opens_as_identity = |bytes: [u8; 32]| {
        manifest
            .open_with_x25519(aead, &X25519Identity::from_bytes(bytes))
            .is_ok()
    };
    let is_package_key = |bytes: [u8; 32]| {
        manifest
            .open_with_key(aead, PackageKey::from_bytes(bytes))
            .is_ok()
    };
    let mut candidates: HashSet<[u8; 32]> = dump
        .windows(32)
        .map(|w| <[u8; 32]>::try_from(w).unwrap())
        .collect();
    candidates.extend(encoded_keys(&dump));
    assert!(
        candidates.len() > 1000,
        "{} candidate keys",
        candidates.len()
    );
    for candidate in &candidates {
        assert!(
            !opens_as_identity(*candidate),
            "a 32-byte window of the dump opens the package"
        );
        assert!(
            !is_package_key(*candidate),
            "a 32-byte window of the dump is K"
        );
    }

    // (c) The server secret, and C with it (the ticket's link), open nothing: there is no link
    // stanza, only X25519 stanzas (the two devices and the recovery key).
    assert!(manifest.is_team_sealed());
    assert_eq!(manifest.stanza_kinds(), vec![StanzaKind::X25519; 3]);
    let server_secret: Vec<u8> =
        sqlx::query_scalar("SELECT server_secret FROM packages WHERE id = $1")
            .bind(upload.id.to_b64u())
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    let server_secret = ServerSecret::from_bytes(server_secret.try_into().unwrap());
    assert_eq!(
        manifest
            .open_with_link(aead, &upload.sealed.link_secret, &server_secret)
            .err(),
        Some(CryptoError::NoUsableStanza)
    );
    for candidate in candidates.iter().take(2000) {
        assert!(manifest
            .open_with_link(aead, &LinkSecret::from_bytes(*candidate), &server_secret)
            .is_err());
    }

    // And the checks can fail: a device key does open it, and so does the recovery code.
    assert!(
        opens_as_identity(*alice.to_bytes()),
        "the checker finds a key that opens"
    );
    assert!(opens_as_identity(*boss.to_bytes()));
    assert!(opens_as_identity(*recovery.to_bytes()));
    assert!(is_package_key(package_key));
    let package = manifest
        .open_team(aead, &alice, &upload.sealed.link_secret)
        .expect("alice's device opens the package from its link");
    assert_eq!(
        package.decrypt_file(aead, 0, &upload.ciphertext).unwrap(),
        upload.plaintext
    );
    let mut with_key = dump.clone();
    with_key.extend_from_slice(&*alice.to_bytes());
    assert!(
        with_key
            .windows(32)
            .any(|w| opens_as_identity(<[u8; 32]>::try_from(w).unwrap())),
        "the same scan finds a device key put into the dump"
    );
}
