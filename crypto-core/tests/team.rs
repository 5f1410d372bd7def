//! Team keys from end to end (docs/FORMAT.md §16-§21): an admin signs a roster, a widget
//! verifies it against the pinned fingerprint and seals to it, agents open with their device
//! keys, the server's data opens nothing, and the recovery code brings everything back.

// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use sealdrop_crypto::*;

/// What the admin's browser holds: the admin key and the recovery code.
struct Admin {
    key: AdminSigningKey,
    code: RecoveryCode,
}

/// One agent's browser.
struct Device {
    user_id: u64,
    identity: X25519Identity,
}

struct Team {
    admin: Admin,
    devices: Vec<Device>,
    rng: DeterministicRandom,
}

fn team(devices: usize) -> Team {
    let rng = DeterministicRandom::new(b"team tests");
    let admin = Admin {
        key: AdminSigningKey::generate(&rng).unwrap(),
        code: RecoveryCode::generate(&rng).unwrap(),
    };
    let devices = (0..devices)
        .map(|i| Device {
            user_id: 1000 + i as u64 / 2,
            identity: X25519Identity::generate(&rng).unwrap(),
        })
        .collect();
    Team {
        admin,
        devices,
        rng,
    }
}

impl Team {
    /// The admin signs a roster of the devices `which`.
    fn roster(&self, sequence: u64, which: &[usize]) -> Vec<u8> {
        let devices = which
            .iter()
            .map(|&i| {
                let d = &self.devices[i];
                RosterDevice::new(*d.identity.recipient().as_bytes(), d.user_id, "browser").unwrap()
            })
            .collect();
        let content = RosterContent::new(
            *self.admin.key.public_key().as_bytes(),
            "acme",
            sequence,
            1_750_000_000,
            *self.admin.code.recovery_recipient().as_bytes(),
            devices,
        )
        .unwrap();
        sign_roster(&self.admin.key, &content).unwrap().to_bytes()
    }

    /// What the Help Center snippet pins.
    fn pin(&self) -> Fingerprint {
        Fingerprint::parse(&self.admin.key.fingerprint().to_compact()).unwrap()
    }
}

/// A customer's upload through the widget: verify the roster, seal to it, encrypt one file.
struct Upload {
    link: LinkSecret,
    manifest: Vec<u8>,
    ciphertext: Vec<u8>,
}

const FILE: &[u8] = b"passport scan";

fn upload(team: &Team, id: PackageId, roster: &[u8]) -> Upload {
    let aead = default_aead();
    let verified = VerifiedRoster::verify(roster, &team.pin(), "acme", None).unwrap();
    let metadata = Metadata {
        files: vec![FileInfo {
            name: "passport.pdf".into(),
            size: FILE.len() as u64,
            media_type: "application/pdf".into(),
        }],
        message: Some("my documents".into()),
        sender: None,
    };
    let sealed = seal_team_package(aead, &team.rng, id, &metadata, verified.recipients()).unwrap();
    Upload {
        ciphertext: encrypt_file(aead, &sealed.file_keys[0], FILE),
        link: sealed.link_secret,
        manifest: sealed.manifest,
    }
}

fn id(byte: u8) -> PackageId {
    PackageId::from_bytes([byte; 16])
}

#[test]
fn every_roster_device_and_the_recovery_code_open_a_team_sealed_package() {
    let team = team(3);
    let roster = team.roster(1, &[0, 1, 2]);
    let sent = upload(&team, id(1), &roster);
    let aead = default_aead();
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    assert!(manifest.is_team_sealed());
    assert_eq!(manifest.stanza_kinds(), vec![StanzaKind::X25519; 4]);
    for device in &team.devices {
        let opened = manifest
            .open_team(aead, &device.identity, &sent.link)
            .unwrap();
        assert_eq!(opened.metadata().files[0].name, "passport.pdf");
        assert_eq!(
            opened.decrypt_file(aead, 0, &sent.ciphertext).unwrap(),
            FILE
        );
    }
    // The admin, with the printed code only.
    let typed = team.admin.code.to_text().to_lowercase();
    let recovery = RecoveryCode::parse(&typed).unwrap().recovery_identity();
    let opened = manifest.open_with_x25519(aead, &recovery).unwrap();
    assert_eq!(
        opened.decrypt_file(aead, 0, &sent.ciphertext).unwrap(),
        FILE
    );

    let stranger = X25519Identity::generate(&team.rng).unwrap();
    assert_eq!(
        manifest.open_team(aead, &stranger, &sent.link).unwrap_err(),
        Error::NoUsableStanza
    );
}

/// A device key that never leaves its store (WebCrypto X25519, non-extractable) computed
/// outside the core: here with x25519-dalek directly, from the manifest's shares alone.
fn outside_agreement(identity: &X25519Identity, manifest: &Manifest) -> Vec<([u8; 32], [u8; 32])> {
    let secret = x25519_dalek::StaticSecret::from(*identity.to_bytes());
    manifest
        .x25519_shares()
        .into_iter()
        .map(|e| {
            (
                e,
                *secret
                    .diffie_hellman(&x25519_dalek::PublicKey::from(e))
                    .as_bytes(),
            )
        })
        .collect()
}

/// `agree` over shared secrets computed elsewhere, looked up by the share `E`.
fn lookup(
    computed: &[([u8; 32], [u8; 32])],
) -> impl FnMut(&[u8; 32]) -> Option<X25519SharedSecret> + '_ {
    |e| {
        computed
            .iter()
            .find(|(share, _)| share == e)
            .map(|(_, shared)| X25519SharedSecret::from_bytes(*shared))
    }
}

#[test]
fn a_device_key_held_outside_the_core_opens_with_its_shared_secrets_alone() {
    let team = team(3);
    let roster = team.roster(1, &[0, 1, 2]);
    let sent = upload(&team, id(7), &roster);
    let aead = default_aead();
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    assert_eq!(
        manifest.x25519_shares().len(),
        4,
        "three devices and the recovery key"
    );
    for device in &team.devices {
        let computed = outside_agreement(&device.identity, &manifest);
        let recipient = device.identity.recipient();
        let opened = manifest
            .open_team_with_agreement(aead, &recipient, &mut lookup(&computed), &sent.link)
            .unwrap();
        assert_eq!(
            opened.decrypt_file(aead, 0, &sent.ciphertext).unwrap(),
            FILE
        );
        // The same key as the identity's own path gives.
        let direct = manifest
            .open_team(aead, &device.identity, &sent.link)
            .unwrap();
        assert_eq!(
            opened.package_key().expose_bytes(),
            direct.package_key().expose_bytes()
        );
    }

    // Another device's shared secrets, or another device's public key, open nothing.
    let (first, second) = (&team.devices[0], &team.devices[1]);
    let computed = outside_agreement(&first.identity, &manifest);
    let err = manifest
        .open_team_with_agreement(
            aead,
            &second.identity.recipient(),
            &mut lookup(&computed),
            &sent.link,
        )
        .unwrap_err();
    assert_eq!(err, Error::NoUsableStanza);
    let stranger = X25519Identity::generate(&team.rng).unwrap();
    let computed = outside_agreement(&stranger, &manifest);
    let err = manifest
        .open_team_with_agreement(
            aead,
            &stranger.recipient(),
            &mut lookup(&computed),
            &sent.link,
        )
        .unwrap_err();
    assert_eq!(err, Error::NoUsableStanza);

    // The link binding is checked as on the identity's path.
    let computed = outside_agreement(&first.identity, &manifest);
    let other_link = LinkSecret::from_bytes([0x11; 32]);
    let err = manifest
        .open_team_with_agreement(
            aead,
            &first.identity.recipient(),
            &mut lookup(&computed),
            &other_link,
        )
        .unwrap_err();
    assert_eq!(err, Error::LinkBindingMismatch);
}

#[test]
fn a_refused_or_all_zero_agreement_is_a_low_order_point() {
    let team = team(1);
    let roster = team.roster(1, &[0]);
    let sent = upload(&team, id(8), &roster);
    let aead = default_aead();
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    let recipient = team.devices[0].identity.recipient();
    // WebCrypto's deriveBits throws for an all-zero result; the page passes nothing.
    let err = manifest
        .open_team_with_agreement(aead, &recipient, &mut |_| None, &sent.link)
        .unwrap_err();
    assert_eq!(err, Error::LowOrderPoint);
    // A key agreement that returns the zeros instead is refused the same way.
    let err = manifest
        .open_team_with_agreement(
            aead,
            &recipient,
            &mut |_| Some(X25519SharedSecret::from_bytes([0; 32])),
            &sent.link,
        )
        .unwrap_err();
    assert_eq!(err, Error::LowOrderPoint);
}

#[test]
fn what_the_server_and_zendesk_hold_opens_nothing() {
    let team = team(2);
    let roster = team.roster(1, &[0, 1]);
    let sent = upload(&team, id(2), &roster);
    let aead = default_aead();
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    // The server made some S for the package; the ticket (Zendesk) holds C; together they
    // find no stanza to open.
    let server_secret = ServerSecret::from_bytes([0x5e; 32]);
    assert_eq!(
        manifest
            .open_with_link(aead, &sent.link, &server_secret)
            .unwrap_err(),
        Error::NoUsableStanza
    );
    // The link proof the server checks is not the link secret, and the roster and the wrapped
    // admin key hold public keys and a blob the server cannot open without the code.
    let proof = LinkProof::derive(&sent.link, &id(2));
    assert_ne!(proof.to_b64u(), sent.link.to_b64u());
    let blob = team
        .admin
        .key
        .wrap(aead, &team.rng, &team.admin.code)
        .unwrap();
    let guess = RecoveryCode::from_bytes([0; 16]);
    assert_eq!(
        AdminSigningKey::unwrap(aead, &blob, &guess).unwrap_err(),
        Error::WrongRecoveryCode
    );
}

#[test]
fn a_package_the_server_swapped_in_is_refused_by_its_link_binding() {
    let team = team(2);
    let roster = team.roster(1, &[0, 1]);
    let sent = upload(&team, id(3), &roster);
    // The server knows the roster's public keys and seals its own package under the same id,
    // but it never saw the link's C.
    let forged = upload(&team, id(3), &roster);
    let aead = default_aead();
    let manifest = Manifest::parse(&forged.manifest).unwrap();
    let device = &team.devices[0].identity;
    assert_eq!(
        manifest.open_team(aead, device, &sent.link).unwrap_err(),
        Error::LinkBindingMismatch
    );
    // A team package without any binding is refused the same way.
    let mut builder = PackageBuilder::new(id(3), &team.rng).unwrap();
    builder.x25519_stanza(&device.recipient()).unwrap();
    let bare = builder.build(aead, &Metadata::default()).unwrap();
    assert_eq!(
        Manifest::parse(&bare)
            .unwrap()
            .open_team(aead, device, &sent.link)
            .unwrap_err(),
        Error::LinkBindingMismatch
    );
    // The binding cannot be added once the metadata is sealed.
    assert_eq!(
        builder.link_binding(&sent.link).unwrap_err(),
        Error::MetadataAlreadySealed
    );
}

#[test]
fn re_wrapping_drops_a_removed_device_and_adds_a_new_one() {
    let team = team(3);
    let old_roster = team.roster(1, &[0, 1]);
    let sent = upload(&team, id(4), &old_roster);
    let aead = default_aead();
    let old = Manifest::parse(&sent.manifest).unwrap();

    // Device 1 is removed, device 2 approved: the admin signs roster 2 and re-wraps with the
    // recovery identity, in the admin's browser.
    let new_roster = team.roster(2, &[0, 2]);
    let verified = VerifiedRoster::verify(&new_roster, &team.pin(), "acme", Some(1)).unwrap();
    let opened = old
        .open_with_x25519(aead, &team.admin.code.recovery_identity())
        .unwrap();
    let rewrapped =
        rewrap_team_package(aead, &team.rng, &old, &opened, verified.recipients()).unwrap();
    let new = Manifest::parse(&rewrapped).unwrap();
    assert!(new.differs_only_in_stanzas(&old) && new.is_team_sealed());
    assert_ne!(new.stanzas(), old.stanzas());

    let (kept, removed, added) = (
        &team.devices[0].identity,
        &team.devices[1].identity,
        &team.devices[2].identity,
    );
    for device in [kept, added] {
        let opened = new.open_team(aead, device, &sent.link).unwrap();
        assert_eq!(
            opened.decrypt_file(aead, 0, &sent.ciphertext).unwrap(),
            FILE
        );
    }
    assert_eq!(
        new.open_team(aead, removed, &sent.link).unwrap_err(),
        Error::NoUsableStanza
    );
    // What a removed agent keeps: a copy of the old manifest still opens the unchanged
    // ciphertext (docs/FORMAT.md §21.4).
    let kept_copy = old.open_team(aead, removed, &sent.link).unwrap();
    assert_eq!(
        kept_copy.decrypt_file(aead, 0, &sent.ciphertext).unwrap(),
        FILE
    );
    // And the roster it was removed from is now refused by a client that saw roster 2.
    assert_eq!(
        VerifiedRoster::verify(&old_roster, &team.pin(), "acme", Some(2)).unwrap_err(),
        Error::RosterRolledBack {
            highest_seen: 2,
            offered: 1
        }
    );
}

#[test]
fn link_sealed_packages_are_not_team_packages() {
    let team = team(1);
    let aead = default_aead();
    let server = ServerSecret::from_bytes([1; 32]);
    let device = team.devices[0].identity.recipient();
    let sealed = seal_package(
        aead,
        &team.rng,
        id(5),
        &server,
        &Metadata::default(),
        &[device],
    )
    .unwrap();
    let manifest = Manifest::parse(&sealed.manifest).unwrap();
    assert!(!manifest.is_team_sealed());
    assert_eq!(
        manifest
            .open_team(aead, &team.devices[0].identity, &sealed.link_secret)
            .unwrap_err(),
        Error::NotTeamSealed
    );
    let opened = manifest
        .open_with_x25519(aead, &team.devices[0].identity)
        .unwrap();
    let recipients =
        TeamRecipients::new(vec![device], team.admin.code.recovery_recipient()).unwrap();
    assert_eq!(
        rewrap_team_package(aead, &team.rng, &manifest, &opened, &recipients).unwrap_err(),
        Error::NotTeamSealed
    );
    // A key of another package is refused before anything is written.
    let other = upload(&team, id(6), &team.roster(1, &[0]));
    let other_opened = Manifest::parse(&other.manifest)
        .unwrap()
        .open_team(aead, &team.devices[0].identity, &other.link)
        .unwrap();
    let team_package = upload(&team, id(7), &team.roster(1, &[0]));
    assert_eq!(
        rewrap_team_package(
            aead,
            &team.rng,
            &Manifest::parse(&team_package.manifest).unwrap(),
            &other_opened,
            &recipients
        )
        .unwrap_err(),
        Error::CommitmentMismatch
    );
}

#[test]
fn fifteen_devices_fit_a_package_and_sixteen_do_not() {
    let team = team(16);
    let all: Vec<usize> = (0..15).collect();
    let sent = upload(&team, id(8), &team.roster(1, &all));
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    assert_eq!(manifest.stanzas().len(), 16);
    let last = &team.devices[14].identity;
    manifest
        .open_team(default_aead(), last, &sent.link)
        .unwrap();
    let sixteen = (0..16)
        .map(|i| {
            RosterDevice::new(*team.devices[i].identity.recipient().as_bytes(), 1, "d").unwrap()
        })
        .collect();
    assert_eq!(
        RosterContent::new([1; 32], "acme", 1, 0, [2; 32], sixteen).unwrap_err(),
        Error::InvalidRoster("more than 15 devices")
    );
}

#[test]
fn the_recovery_code_restores_a_team_that_lost_every_device() {
    let team = team(4);
    let aead = default_aead();
    let sent = upload(&team, id(9), &team.roster(1, &[0, 1]));
    // Kept on the server: the wrapped admin key. Every device (0 and 1) is lost; the admin
    // types the code in a new browser.
    let blob = team
        .admin
        .key
        .wrap(aead, &team.rng, &team.admin.code)
        .unwrap();
    let code = RecoveryCode::parse(&team.admin.code.to_text()).unwrap();
    let admin = AdminSigningKey::unwrap(aead, &blob, &code).unwrap();
    assert_eq!(admin.fingerprint(), team.pin());

    // New devices 2 and 3 are approved under the same admin key and recovery key.
    let content = RosterContent::new(
        *admin.public_key().as_bytes(),
        "acme",
        2,
        1_750_000_100,
        *code.recovery_recipient().as_bytes(),
        [2, 3]
            .iter()
            .map(|&i| {
                let d = &team.devices[i];
                RosterDevice::new(*d.identity.recipient().as_bytes(), d.user_id, "new").unwrap()
            })
            .collect(),
    )
    .unwrap();
    let roster = sign_roster(&admin, &content).unwrap().to_bytes();
    let verified = VerifiedRoster::verify(&roster, &team.pin(), "acme", Some(1)).unwrap();
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    let opened = manifest
        .open_with_x25519(aead, &code.recovery_identity())
        .unwrap();
    let rewrapped =
        rewrap_team_package(aead, &team.rng, &manifest, &opened, verified.recipients()).unwrap();
    let opened = Manifest::parse(&rewrapped)
        .unwrap()
        .open_team(aead, &team.devices[3].identity, &sent.link)
        .unwrap();
    assert_eq!(
        opened.decrypt_file(aead, 0, &sent.ciphertext).unwrap(),
        FILE
    );
}
