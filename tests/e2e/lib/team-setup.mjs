// Team keys as the admin and the agents set them up, without a browser: device identities
// made with the wasm bindings (as the sidebar's wasm fallback makes them), registered through
// the API with each agent's session; an admin key and a recovery code made in "the admin's
// browser" (here, Node), the admin key wrapped under the code and stored; a roster signed by
// the admin key and published; team keys turned on; and the Help Center snippet the admin
// pastes into the theme, pinning the loader (integrity) and the admin key (data-admin-key).
//
//   import { setUpTeam, pasteSnippet } from './lib/team-setup.mjs';
//   const team = await setUpTeam({ server, sim, wasm, adminSession });
//   await pasteSnippet({ server, sim, widgetKey, adminSession, adminKey: team.adminKey.fingerprint });
//
// lib/team.mjs is the sidebar tests' counterpart: a package sealed in Node, keys in IndexedDB.

import assert from 'node:assert/strict';

import { sidebarSession } from './zendesk.mjs';

export const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
export const fromB64u = (text) => new Uint8Array(Buffer.from(text, 'base64url'));

/** `method path` with a bearer credential and a JSON body; resolves to `{ status, body }`. */
export async function call(server, method, path, bearer, json) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, ...(json ? { 'Content-Type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, body };
}

/** Registers a fresh device identity for the agent of `session`; resolves to `{ identity, deviceKey, userId, label }`. */
export async function enrolDevice({ server, wasm, session, userId, label }) {
  const { identity, deviceKey } = wasm.generateDeviceIdentity();
  const registered = await call(server, 'POST', '/api/v1/me/devices', session, { device_key: deviceKey, label });
  assert.equal(registered.status, 201, `registering ${label}: ${JSON.stringify(registered.body)}`);
  return { identity, deviceKey, userId: String(userId), label };
}

/**
 * Signs `devices` into a roster with `adminKey` and publishes it; resolves to the roster's
 * bytes. `sequence` defaults to one more than the stored roster's.
 */
export async function publishRoster({ server, adminSession, adminKey, tenant, recoveryKey, devices, sequence }) {
  if (sequence === undefined) {
    const current = await call(server, 'GET', '/api/v1/team/roster', adminSession);
    sequence = current.status === 200 ? current.body.sequence + 1 : 1;
  }
  const roster = adminKey.signRoster({
    tenant,
    sequence,
    issuedAt: Math.floor(Date.now() / 1000),
    recoveryKey,
    devices: devices.map(({ deviceKey, userId, label }) => ({ deviceKey, userId, label })),
  });
  const published = await call(server, 'PUT', '/api/v1/team/roster', adminSession, { roster: b64u(roster) });
  assert.equal(published.status, 200, `publishing the roster: ${JSON.stringify(published.body)}`);
  return roster;
}

/**
 * The simulated account's team: the agent's and the admin's devices, the admin key (stored
 * wrapped under the recovery code), a published roster of both devices, team keys on.
 * Resolves to `{ tenant, adminKey, code, devices: [agent, admin], roster }`.
 */
export async function setUpTeam({ server, sim, wasm, adminSession }) {
  const settings = await call(server, 'GET', '/api/v1/settings', adminSession);
  assert.equal(settings.status, 200);
  const tenant = settings.body.subdomain;
  assert.ok(tenant, 'the simulated account has a subdomain');
  const agentSession = await sidebarSession(server, sim, sim.users.agent.id);
  const devices = [
    await enrolDevice({ server, wasm, session: agentSession, userId: sim.users.agent.id, label: 'Agent, work laptop' }),
    await enrolDevice({ server, wasm, session: adminSession, userId: sim.users.admin.id, label: 'Admin, desktop' }),
  ];
  const adminKey = wasm.AdminKey.generate();
  const code = wasm.RecoveryCode.generate();
  const stored = await call(server, 'PUT', '/api/v1/team/admin-key', adminSession, { wrapped_admin_key: b64u(code.wrapAdminKey(adminKey)), replace: false });
  assert.equal(stored.status, 200, `storing the admin key: ${JSON.stringify(stored.body)}`);
  assert.equal(stored.body.fingerprint, adminKey.fingerprint, 'the server names the same fingerprint');
  const roster = await publishRoster({ server, adminSession, adminKey, tenant, recoveryKey: code.recoveryKey, devices });
  const on = await call(server, 'PUT', '/api/v1/settings', adminSession, { team_keys: true });
  assert.equal(on.status, 200, `turning team keys on: ${JSON.stringify(on.body)}`);
  return { tenant, adminKey, code, devices, roster, agentSession };
}

/**
 * The Help Center snippet as the admin's screen composes it (the loader's integrity from the
 * settings, the admin key's fingerprint from the admin's own key), pasted into the
 * simulator's theme. `adminKey` null leaves data-admin-key out. Resolves to the snippet.
 */
export async function pasteSnippet({ server, sim, widgetKey, adminSession, adminKey }) {
  const settings = await call(server, 'GET', '/api/v1/settings', adminSession);
  const integrity = settings.body.widget_loader_integrity;
  assert.match(integrity ?? '', /^sha384-[A-Za-z0-9+/]{64}$/, 'the settings name the loader\'s integrity (is the widget built?)');
  const pin = adminKey ? ` data-admin-key="${adminKey}"` : '';
  const snippet = `<script src="${server.url}/widget/v1/loader.js" integrity="${integrity}" crossorigin="anonymous" data-key="${widgetKey}"${pin} async></script>`;
  await sim.settings({ loader_tag: snippet });
  return snippet;
}
