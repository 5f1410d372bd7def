// What every part of the sidebar shares: the sign-in's outcome (status, message, session), the
// API client with the agent's session, and the state of this page.
//
// Two ways to get here (docs/ZENDESK.md): the page the sealdrop server rendered after Zendesk's
// signed POST carries the outcome in <meta> elements; the page served from the Zendesk app
// package has none, and signs in through Zendesk's proxy (signin.js) before anything else.

import { Api } from "/static/shared/api.js";

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

const rendered = Boolean(document.querySelector('meta[name="sealdrop-status"]'));

export const page = {
  /** Served from the app package (no <meta> from the server): sign in through the proxy. */
  packaged: !rendered,
  status: rendered ? meta("sealdrop-status") || "refused" : "signing_in",
  message: meta("sealdrop-message"),
  session: meta("sealdrop-session"),
  /** The sealdrop server's origin: secure links of other origins are not this server's. */
  serverOrigin: rendered ? location.origin : "",
};
// The token is read once; keep it out of the DOM afterwards.
document.querySelector('meta[name="sealdrop-session"]')?.remove();

export const api = new Api({ headers: page.session ? { Authorization: `Bearer ${page.session}` } : {}, retries: 2 });

/** `me` (GET /api/v1/me), `zaf` (the ZAF client), `ticket`, `links` (inbox entries), `sent`, `settings`,
 *  `device` (this browser's team device key record, team/device.js). */
export const state = { me: null, zaf: null, ticket: null, links: new Map(), sent: [], settings: null, device: null };
