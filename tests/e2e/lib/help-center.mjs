// The simulator's Help Center pages as a customer uses them, and the checks the widget tests
// share: the real Copenhagen theme (React form, Garden fields, CKEditor 5 description) and
// the classic markup, the simulator's record of what the pages sent, the panel's legibility,
// and axe-core.
//
//   import { copenhagen, classic, helpCenterLog, panelLegibility, axe } from './lib/help-center.mjs';
//   await copenhagen.open(page, sim);
//   await copenhagen.fill(page, { email, subject, description });

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** The widget's panel (its host element; the panel itself is in the host's shadow root). */
export const PANEL = '[data-sealdrop="widget"]';

/**
 * The Copenhagen theme's "Submit a request" page: fields by their posted names, the
 * description typed into CKEditor with the keyboard, ticket forms chosen in Garden's combobox
 * (the theme reloads the page with `?ticket_form_id=`).
 */
export const copenhagen = {
  name: 'copenhagen',
  native: '[data-garden-id="forms.file_upload"]',
  submit: 'button[type=submit]',
  /** Opens the page (`query` e.g. `?ticket_form_id=1`) and waits for the editor. */
  async open(page, sim, query = '') {
    await page.goto(`${sim.url}/hc/en-us/requests/new${query}`);
    await page.locator('.ck-editor__editable[contenteditable="true"]').waitFor({ timeout: 30_000 });
  },
  async fill(page, { email, subject, description }) {
    if (email !== undefined) await page.fill('input[name="request[anonymous_requester_email]"]', email);
    if (subject !== undefined) await page.fill('input[name="request[subject]"]', subject);
    if (description !== undefined) {
      await page.click('.ck-editor__editable');
      await page.keyboard.type(description);
    }
  },
  subject: 'input[name="request[subject]"]',
  /** Chooses a ticket form by name the way a customer does; resolves when the page has reloaded. */
  async chooseForm(page, name, id) {
    await page.getByRole('combobox', { name: 'Please choose your issue below' }).click();
    await Promise.all([
      page.waitForURL(new RegExp(`ticket_form_id=${id}`)),
      page.getByRole('option', { name }).click(),
    ]);
    await page.locator('.ck-editor__editable[contenteditable="true"]').waitFor({ timeout: 30_000 });
  },
};

/** The classic markup (`form#new_request`, a plain textarea, `#upload-dropzone`). */
export const classic = {
  name: 'classic',
  native: '#upload-dropzone',
  submit: 'input[type=submit]',
  async open(page, sim, query = '') {
    const extra = query ? `&${query.replace(/^\?/, '')}` : '';
    await page.goto(`${sim.url}/hc/en-us/requests/new?markup=classic${extra}`);
    await page.locator('#request_description').waitFor();
  },
  async fill(page, { email, subject, description }) {
    if (email !== undefined) await page.fill('#request_anonymous_requester_email', email);
    if (subject !== undefined) await page.fill('#request_subject', subject);
    if (description !== undefined) await page.fill('#request_description', description);
  },
  subject: '#request_subject',
  async chooseForm(page, _name, id) {
    await page.selectOption('#request_issue_type_select', String(id));
  },
};

/** What the simulator's Help Center received: `{ csrf_tokens, posts, uploads, api_calls }`. */
export async function helpCenterLog(sim) {
  const res = await fetch(`${sim.url}/sim/help_center/log`);
  assert.equal(res.status, 200, `the simulator's Help Center log: HTTP ${res.status}`);
  return res.json();
}

/** The posted value of `name` in a recorded form post. */
export function postedField(post, name) {
  return post.fields.filter(([k]) => k === name).map(([, v]) => v);
}

/**
 * How legible the panel's text is: for each text element of the panel, its computed font
 * size and the contrast ratio of its colour against the background behind it (WCAG formula).
 */
export async function panelLegibility(page) {
  return page.evaluate((panel) => {
    const root = document.querySelector(panel).shadowRoot;
    const rgb = (c) => c.match(/[\d.]+/g).slice(0, 4).map(Number);
    const luminance = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement ?? e.getRootNode().host) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length < 4 || c[3] > 0) return c;
      }
      return [255, 255, 255];
    };
    return Array.from(root.querySelectorAll('.head span:not(.padlock), .drop, .file .name, .file .size, .file .state, .status, .error'))
      .filter((el) => el.textContent.trim() && el.getClientRects().length > 0)
      .map((el) => {
        const style = getComputedStyle(el);
        const [l1, l2] = [luminance(rgb(style.color)), luminance(background(el))].sort((a, b) => b - a);
        return { text: el.textContent.trim().slice(0, 40), fontSize: parseFloat(style.fontSize), contrast: (l1 + 0.05) / (l2 + 0.05) };
      });
  }, PANEL);
}

/** Asserts every text of the panel is at least 12 px and has a contrast of 4.5:1. */
export async function assertPanelLegible(page, what) {
  const texts = await panelLegibility(page);
  assert.ok(texts.length >= 2, `${what}: the panel shows text`);
  for (const t of texts) {
    assert.ok(t.fontSize >= 12, `${what}: "${t.text}" is ${t.fontSize}px`);
    assert.ok(t.contrast >= 4.5, `${what}: "${t.text}" has a contrast of ${t.contrast.toFixed(2)}:1`);
  }
  return texts;
}

const require = createRequire(import.meta.url);
let axeSource;

/**
 * Runs axe-core's WCAG 2.1 A and AA rules in `frame` (a page or a frame), limited to
 * `include` (a selector) when given; resolves to the violations as `rule: target…` lines.
 */
export async function axe(frame, include) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await frame.evaluate(() => Boolean(window.axe)))) await frame.evaluate(axeSource);
  const violations = await frame.evaluate(async (selector) => {
    const result = await window.axe.run(selector ? { include: [[selector]] } : document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      rules: { 'label-content-name-mismatch': { enabled: true } },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')} - ${v.help}`);
  }, include ?? null);
  return violations;
}
