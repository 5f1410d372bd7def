// What every part of the sidebar shares: the page the server rendered (status, message,
// session), the API client with the agent's session, and the state of this page.

import { Api } from "/static/shared/api.js";

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

export const page = {
  status: meta("sealdrop-status") || "refused",
  message: meta("sealdrop-message"),
  session: meta("sealdrop-session"),
};
// The token is read once; keep it out of the DOM afterwards.
document.querySelector('meta[name="sealdrop-session"]')?.remove();

export const api = new Api({ headers: page.session ? { Authorization: `Bearer ${page.session}` } : {}, retries: 2 });

/** `me` (GET /api/v1/me), `zaf` (the ZAF client), `ticket`, `links` (inbox entries), `sent`, `settings`,
 *  `device` (this browser's team device key record, team/device.js). */
export const state = { me: null, zaf: null, ticket: null, links: new Map(), sent: [], settings: null, device: null };
