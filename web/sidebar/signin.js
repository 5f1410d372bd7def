// The sign-in of the sidebar served from the Zendesk app package (docs/ZENDESK.md "Sidebar from
// the app package"): no server rendered this page, so it asks the sealdrop server for an agent
// session through Zendesk's app proxy. The proxy signs an HS256 JWT over the claims below with
// the installation's secure setting `shared_secret` (which never reaches this page: it is
// scoped to the JWT's key and inserted by Zendesk, for the manifest's domainWhitelist only) and
// sends it as `Authorization: Bearer`. The answer is what the server-rendered page carried in
// its <meta> elements. Everything after this goes straight to the server with the session.
//
// The JWT proves the Zendesk account, not the user: the proxy signs whatever claims this
// script asks for. So the user proves who they are once per browser (docs/ZENDESK.md "Who the
// packaged sidebar runs for"): the page sends a random claim; the server answers `identify`
// with a popup path; in the popup Zendesk asks the user signed in to Zendesk to approve, and
// the server checks that Zendesk names the user of the JWT; the next sign-in with the same
// claim collects a credential, kept in this frame's localStorage and sent from then on. The
// claim and the credential travel in request bodies only, never in a URL.

import { api, page } from "./context.js";
import { t } from "./strings.js";

/** Lifetime asked of the proxy's JWT, in seconds (the server accepts up to 300). */
const JWT_EXPIRY = 60;

/** Where this browser keeps its credential and its pending claim. */
const CREDENTIAL_KEY = "sealdrop.app_credential";
const CLAIM_KEY = "sealdrop.app_claim";

function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function stored(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return "";
  }
}

function store(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // Storage refused (a locked-down browser): the user confirms again next time.
  }
}

/** The claim this browser waits on, made once and kept until collected or refused. */
function currentClaim() {
  let claim = stored(CLAIM_KEY);
  if (!claim) {
    claim = randomSecret();
    store(CLAIM_KEY, claim);
  }
  return claim;
}

/** Signs in through the proxy, filling `page` and the API client; a no-op on a server-rendered page.
 *  With status `identify`, `page.identifyUrl` is the popup to open (confirmIdentity). */
export async function signIn(zaf) {
  if (!page.packaged) return;
  if (!zaf) {
    page.status = "refused";
    page.message = "";
    return;
  }
  const metadata = await zaf.metadata();
  const base = String(metadata?.settings?.sealdrop_url ?? "").replace(/\/+$/, "");
  let origin;
  try {
    origin = new URL(base).origin;
  } catch {
    page.status = "refused";
    page.message = t("status.no_server_url");
    return;
  }
  const data = await zaf.get(["currentUser", "currentAccount"]);
  let answer = await requestSession(zaf, metadata, data, base, currentClaim());
  if (answer && answer.status === "identify" && !answer.identify_path) {
    // The claim was used or has expired: one new claim, once.
    store(CLAIM_KEY, "");
    answer = await requestSession(zaf, metadata, data, base, currentClaim());
  }
  if (!answer) return;
  if (answer.credential) {
    store(CREDENTIAL_KEY, answer.credential);
    store(CLAIM_KEY, "");
  }
  page.status = answer.status;
  page.message = answer.message;
  page.session = answer.session ?? "";
  page.serverOrigin = origin;
  page.identifyUrl = answer.identify_path ? `${base}${answer.identify_path}` : "";
  api.base = base;
  api.headers = page.session ? { Authorization: `Bearer ${page.session}` } : {};
}

/** One `POST /zendesk/app/session` through the proxy; `null` (and `page` says why) when it failed. */
async function requestSession(zaf, metadata, data, base, claim) {
  const user = data.currentUser;
  const account = data.currentAccount;
  const jti = [...crypto.getRandomValues(new Uint8Array(18))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const proof = { claim };
  const credential = stored(CREDENTIAL_KEY);
  if (credential) proof.credential = credential;
  try {
    return await zaf.request({
      url: `${base}/zendesk/app/session`,
      type: "POST",
      cors: false,
      secure: true,
      dataType: "json",
      contentType: "application/json",
      data: JSON.stringify(proof),
      headers: { Authorization: "Bearer {{jwt.token}}" },
      jwt: {
        algorithm: "HS256",
        secret_key: "{{setting.shared_secret}}",
        expiry: JWT_EXPIRY,
        claims: {
          iss: `${account.subdomain}.zendesk.com`,
          aud: "sealdrop",
          sub: String(user.id),
          installation_id: metadata.installationId,
          jti,
        },
      },
    });
  } catch (xhr) {
    // A refused role answers 403 with the same body (a credential it collected included: the
    // user is proven, whatever their role); anything else is a failed sign-in.
    const body = xhr?.responseJSON;
    if (xhr?.status === 403 && typeof body?.status === "string") return body;
    page.status = "refused";
    page.message = body?.message ?? body?.error?.message ?? t("status.signin_failed", { status: xhr?.status ?? "?" });
    return null;
  }
}

/** How often, and how long, the page asks whether the user approved in the popup. */
const IDENTIFY_POLL_MS = 1500;
const IDENTIFY_WAIT_MS = 10 * 60 * 1000;

/** Opens the popup where Zendesk asks the user to approve (call it from a click: popup
 *  blockers allow only that), then signs in again until the claim is proven. Resolves with
 *  the final status (`ready`, …, or `identify` when the user gave up). */
export async function confirmIdentity(zaf) {
  const popup = window.open(page.identifyUrl, "sealdrop-identify", "popup,width=560,height=680");
  const until = Date.now() + IDENTIFY_WAIT_MS;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, IDENTIFY_POLL_MS));
    await signIn(zaf);
    if (page.status !== "identify") break;
  }
  try {
    popup?.close();
  } catch {
    // Another origin's window may refuse: the callback page tells the user to close it.
  }
  return page.status;
}
