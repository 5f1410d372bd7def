// The ticket, read through ZAF, and the secure links of this server in it.

import * as wasm from "/static/pkg/sealdrop_widget.js";

import { page, state } from "./context.js";

const listeners = [];

/** Calls `listener(ticket)` after every load of the ticket. */
export function onTicket(listener) {
  listeners.push(listener);
}

/** Reads the ticket's id, text and people through ZAF. */
export async function loadTicket() {
  const keys = ["ticket.id", "ticket.description", "ticket.comments", "ticket.requester", "ticket.collaborators"];
  const data = await state.zaf.get(keys);
  state.ticket = {
    id: data["ticket.id"],
    description: data["ticket.description"] ?? "",
    comments: data["ticket.comments"] ?? [],
    requester: data["ticket.requester"] ?? null,
    collaborators: data["ticket.collaborators"] ?? [],
  };
  for (const listener of listeners) listener(state.ticket);
}

/** Every text the ticket shows: the description and each comment (HTML comments flattened). */
function ticketTexts() {
  const texts = [state.ticket.description];
  for (const c of state.ticket.comments) {
    const value = c.value ?? c.body ?? "";
    if (/<[a-z][\s\S]*>/i.test(value)) {
      const doc = new DOMParser().parseFromString(value, "text/html");
      texts.push(doc.body.textContent ?? "");
      for (const a of doc.querySelectorAll("a[href]")) texts.push(a.getAttribute("href"));
    } else {
      texts.push(value);
    }
  }
  return texts;
}

/** Secure links of this server in the ticket, in order of appearance, one per package. */
export function findLinks() {
  const found = new Map();
  const pattern = /https?:\/\/[^\s"'<>()]+?\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/g;
  for (const textValue of ticketTexts()) {
    for (const m of String(textValue).matchAll(pattern)) {
      let url;
      try {
        url = new URL(m[0]);
      } catch {
        continue;
      }
      if (url.origin !== page.serverOrigin) continue;
      try {
        const parsed = wasm.parseLink(m[0]);
        if (!found.has(parsed.packageId)) found.set(parsed.packageId, { link: m[0], parsed });
      } catch {
        // Not a well-formed sealdrop link (a cut-off fragment): shown as not found below.
        const id = url.pathname.split("/").pop();
        if (!found.has(id)) found.set(id, { link: m[0], parsed: null });
      }
    }
  }
  return [...found.values()];
}
