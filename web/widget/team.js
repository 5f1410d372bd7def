// Team keys in the widget (docs/FORMAT.md §16-§21, docs/SECURITY.md "Team keys").
//
// The snippet pins the tenant's admin key by its fingerprint (`data-admin-key` on the loader's
// script tag, set by the Zendesk admin in the theme, not by the sealdrop server). With a pin,
// every upload is sealed to the team: the worker fetches `GET /widget/v1/roster`, verifies it
// with the wasm core's `verifyRoster` against the pin, the account and the highest roster
// sequence this browser accepted before, and seals with `PackageSealer.forTeam` (one X25519
// stanza per roster device and one for the recovery key, no link stanza). There is no fallback
// to link sealing: without a roster that verifies, no file can be attached and nothing is
// uploaded, so a server that withholds or forges the roster gets no package it could open.
//
// Page side: `teamPlan` (whether and how to seal to the team) and `RosterMemory` (the highest
// sequence accepted, in the Help Center origin's localStorage). Worker side:
// `verifiedRoster` (fetch and verify, before anything is created on the server).

/** Why a roster was refused, in the customer's words, by the core's error kind. */
const REFUSALS = {
  admin_key_mismatch: "the support team's key list is not signed by the key this Help Center trusts",
  roster_signature_invalid: "the signature on the support team's key list is not valid",
  roster_tenant_mismatch: "the support team's key list belongs to another account",
  roster_rolled_back: "the support team's key list is older than one this browser has already seen",
  invalid_roster: "the support team's key list is malformed",
  unsupported_version: "the support team's key list has a version this widget does not know",
  invalid_encoding: "this Help Center's data-admin-key is not a key fingerprint",
  no_roster: "the support team has not published its key list yet",
};

/** An error whose message the panel shows as is; `code` is the core's kind. */
export class TeamError extends Error {
  constructor(code, detail) {
    super(REFUSALS[code] ?? detail ?? "the support team's keys could not be verified");
    this.name = "TeamError";
    this.code = code;
  }
}

/**
 * Whether uploads are sealed to the team: with a pin in the snippet, always (the server's
 * `team_keys` cannot turn it off); without one, never, and a tenant whose server insists on
 * team keys gets a refusal that names what the theme lacks. Returns `null` (link sealing),
 * `{ pin, tenant }`, or `{ error }`.
 */
export function teamPlan({ adminKey, config }) {
  if (adminKey === null || adminKey === undefined) {
    return config?.team_keys
      ? { error: "this account seals attachments to its support team, but the Help Center's sealdrop snippet has no data-admin-key" }
      : null;
  }
  const pin = String(adminKey).replace(/[\s-]/g, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(pin)) return { error: REFUSALS.invalid_encoding };
  if (!config?.tenant) return { error: "this account has no Zendesk subdomain, so its support team's keys cannot be checked" };
  return { pin, tenant: config.tenant };
}

/** The highest roster sequence this browser accepted for a (tenant, pin), in localStorage. */
export class RosterMemory {
  constructor({ tenant, pin }) {
    this.key = `sealdrop.roster-sequence.${tenant}.${pin}`;
  }

  /** The remembered sequence, or null (never seen, or storage unavailable). */
  highest() {
    try {
      const n = Number(localStorage.getItem(this.key));
      return Number.isSafeInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  }

  /** Remembers `sequence` if it is higher than the one remembered. */
  remember(sequence) {
    const highest = this.highest();
    if (highest !== null && sequence <= highest) return;
    try {
      localStorage.setItem(this.key, String(sequence));
    } catch {
      // Storage off (private mode, a policy): the check of §19.3 step 6 is then per visit.
    }
  }
}

function fromB64u(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/**
 * Fetches the tenant's roster (widget key) and verifies it against `team` (`{ pin, tenant,
 * highestSeen }`); resolves to the wasm `TeamRoster` to seal to, or throws a `TeamError`.
 */
export async function verifiedRoster({ wasm, api, team }) {
  let answer;
  try {
    answer = await api.json("GET", "/widget/v1/roster", { retries: 2 });
  } catch (err) {
    if (err?.status === 404) throw new TeamError("no_roster");
    throw err;
  }
  let bytes;
  try {
    bytes = fromB64u(String(answer?.roster ?? ""));
  } catch {
    throw new TeamError("invalid_roster");
  }
  try {
    return wasm.verifyRoster(bytes, team.pin, team.tenant, team.highestSeen ?? undefined);
  } catch (err) {
    throw new TeamError(err?.kind ?? "invalid_roster", err?.message);
  }
}
