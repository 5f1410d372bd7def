// The sign-in of the sidebar served from the Zendesk app package (docs/ZENDESK.md "Sidebar from
// the app package"): no server rendered this page, so it asks the sealdrop server for an agent
// session through Zendesk's app proxy. The proxy signs an HS256 JWT over the claims below with
// the installation's secure setting `shared_secret` (which never reaches this page: it is
// scoped to the JWT's key and inserted by Zendesk, for the manifest's domainWhitelist only) and
// sends it as `Authorization: Bearer`. The answer is what the server-rendered page carried in
// its <meta> elements. Everything after this goes straight to the server with the session.

import { api, page } from "./context.js";
import { t } from "./strings.js";

/** Lifetime asked of the proxy's JWT, in seconds (the server accepts up to 300). */
const JWT_EXPIRY = 60;

/** Signs in through the proxy, filling `page` and the API client; a no-op on a server-rendered page. */
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
  const user = data.currentUser;
  const account = data.currentAccount;
  const jti = [...crypto.getRandomValues(new Uint8Array(18))].map((b) => b.toString(16).padStart(2, "0")).join("");
  let answer;
  try {
    answer = await zaf.request({
      url: `${base}/zendesk/app/session`,
      type: "POST",
      cors: false,
      secure: true,
      dataType: "json",
      contentType: "application/json",
      data: "{}",
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
    // A refused role answers 403 with the same body; anything else is a failed sign-in.
    const body = xhr?.responseJSON;
    page.status = "refused";
    page.message = body?.message ?? body?.error?.message ?? t("status.signin_failed", { status: xhr?.status ?? "?" });
    return;
  }
  page.status = answer.status;
  page.message = answer.message;
  page.session = answer.session ?? "";
  page.serverOrigin = origin;
  api.base = base;
  api.headers = page.session ? { Authorization: `Bearer ${page.session}` } : {};
}
