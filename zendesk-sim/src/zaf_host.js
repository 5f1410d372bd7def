// The host side of the Zendesk Apps Framework (ZAF v2), as the simulator's agent ticket page
// speaks it to the app iframe. Served at /agent/assets/zaf_host.js; the page gives it the
// ticket in <script type="application/json" id="zaf-host-data">.
//
// What is simulated (the app runs the real zendesk_app_framework_sdk 2.0.x against it):
//   - the handshake: the SDK posts `iframe.handshake`; the host answers with the event
//     `zaf.app.registered` {metadata, context};
//   - requests `{id, request: "get"|"set"|"invoke", params}`, answered `{id, result}` where a
//     result maps each path to its value plus `errors: {path: {name, message}}` for paths the
//     host does not know (the SDK throws those for single-path calls);
//   - get: ticket.id, ticket.subject, ticket.description, ticket.status, ticket.requester,
//     ticket.collaborators, ticket.comments, ticket.comment.text, currentUser, currentAccount;
//   - set: ticket.comment.text;
//   - invoke: ticket.comment.appendText, ticket.comment.appendHtml, resize (size only);
//   - events `zaf.{name}` to subscribed apps (`iframe.on:{name}`): ticket.updated,
//     ticket.comments.changed, comment.text.changed.
//   - client.request(options): the SDK posts `request:{n}` with the options; the host hands
//     them to the simulator's app proxy (POST /api/v2/apps/proxy, which substitutes settings,
//     signs the JWT and relays, as Zendesk's proxy does) and answers with the event
//     `zaf.request:{n}.done` {responseArgs: [data, "success", xhr]} or `zaf.request:{n}.fail`
//     {responseArgs: [xhr, "error", statusText]}, `xhr` being {status, statusText,
//     responseText, responseJSON} as jQuery's, which the SDK passes to the app's promise.
// Not simulated: instances, modals, other locations; client.request to Zendesk's own API.
// Messages are accepted only from the app iframe's window and the app's origin, and sent only
// to that origin, as Zendesk does.

(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("zaf-host-data").textContent);
  const frame = document.getElementById(data.frame);
  const editor = document.getElementById("ticket-reply");
  const subscribers = new Map(); // event name -> count
  window.zafHostLog = []; // requests seen, for tests: [{request, params}]

  function send(msg) {
    frame.contentWindow.postMessage(JSON.stringify(msg), data.appOrigin);
  }

  function trigger(name, message) {
    if (!subscribers.get(name)) return;
    send({ key: `zaf.${name}`, message, appGuid: data.appGuid });
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function commentHtml() {
    return editor.innerHTML;
  }

  const getters = {
    "ticket.id": () => data.ticket.id,
    "ticket.subject": () => data.ticket.subject,
    "ticket.description": () => data.ticket.description,
    "ticket.status": () => data.ticket.status,
    "ticket.requester": () => data.ticket.requester,
    "ticket.collaborators": () => data.ticket.collaborators,
    "ticket.comments": () => data.ticket.comments,
    "ticket.comment.text": () => commentHtml(),
    "ticket": () => ({ ...data.ticket }),
    "currentUser": () => data.currentUser,
    "currentAccount": () => data.currentAccount,
  };

  // Only the tags and attributes a reply may hold; everything else becomes text.
  function sanitize(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const out = document.createDocumentFragment();
    const walk = (node, parent) => {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) {
          parent.append(child.textContent);
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          const tag = child.tagName.toLowerCase();
          if (["a", "p", "br", "strong", "em", "b", "i", "ul", "ol", "li"].includes(tag)) {
            const copy = document.createElement(tag);
            if (tag === "a") {
              const href = child.getAttribute("href") || "";
              if (/^https?:/i.test(href)) copy.setAttribute("href", href);
              copy.setAttribute("rel", "noreferrer");
              copy.setAttribute("target", "_blank");
            }
            walk(child, copy);
            parent.append(copy);
          } else {
            walk(child, parent);
          }
        }
      }
    };
    walk(doc.body, out);
    return out;
  }

  function appendText(text) {
    const p = document.createElement("p");
    p.textContent = String(text);
    editor.append(p);
    trigger("comment.text.changed", commentHtml());
  }

  function appendHtml(html) {
    editor.append(sanitize(String(html)));
    trigger("comment.text.changed", commentHtml());
  }

  const invokers = {
    "ticket.comment.appendText": (text) => appendText(text),
    "ticket.comment.appendHtml": (html) => appendHtml(html),
    "resize": (size) => {
      if (size && size.height) frame.style.height = /^\d+$/.test(String(size.height)) ? `${size.height}px` : String(size.height);
    },
  };

  const setters = {
    "ticket.comment.text": (value) => {
      editor.replaceChildren(sanitize(String(value)));
      trigger("comment.text.changed", commentHtml());
    },
  };

  function notFound(path) {
    return { name: "ClientError", message: `"${path}" Could not find handler for: "${path}"` };
  }

  function answer(msg) {
    const result = { errors: {} };
    window.zafHostLog.push({ request: msg.request, params: msg.params });
    if (msg.request === "get") {
      for (const path of msg.params) {
        if (getters[path]) result[path] = getters[path]();
        else result.errors[path] = notFound(path);
      }
    } else if (msg.request === "set") {
      for (const [path, value] of Object.entries(msg.params)) {
        if (setters[path]) {
          setters[path](value);
          result[path] = value;
        } else {
          result.errors[path] = notFound(path);
        }
      }
    } else if (msg.request === "invoke") {
      for (const [path, args] of Object.entries(msg.params)) {
        if (invokers[path]) result[path] = invokers[path](...(Array.isArray(args) ? args : [args])) ?? null;
        else result.errors[path] = notFound(path);
      }
    } else {
      return send({ id: msg.id, error: { name: "ClientError", message: `unknown request ${msg.request}` } });
    }
    send({ id: msg.id, result });
  }

  // client.request through the simulator's app proxy (see the header).
  async function relay(key, options) {
    window.zafHostLog.push({ request: "request", params: { url: options.url, type: options.type } });
    let xhr;
    try {
      const res = await fetch("/api/v2/apps/proxy", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ installation_id: data.installationId, options }),
      });
      const relayed = await res.json();
      xhr = { status: relayed.status, statusText: relayed.status_text, responseText: relayed.body };
    } catch (e) {
      xhr = { status: 0, statusText: "error", responseText: String(e) };
    }
    let parsed;
    try {
      parsed = JSON.parse(xhr.responseText);
      xhr.responseJSON = parsed;
    } catch {
      parsed = xhr.responseText;
    }
    const ok = xhr.status >= 200 && xhr.status < 300;
    const responseArgs = ok ? [options.dataType === "text" ? xhr.responseText : parsed, "success", xhr] : [xhr, "error", xhr.statusText];
    send({ key: `zaf.${key}.${ok ? "done" : "fail"}`, message: { responseArgs }, appGuid: data.appGuid });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow || event.origin !== data.appOrigin) return;
    let msg = event.data;
    if (typeof msg === "string") {
      try {
        msg = JSON.parse(msg);
      } catch {
        return;
      }
    }
    if (!msg || (msg.appGuid && msg.appGuid !== data.appGuid)) return;
    if (msg.request && msg.id) return answer(msg);
    const key = String(msg.key || "");
    if (/^request:\d+$/.test(key)) return relay(key, msg.message || {});
    if (key === "iframe.handshake") {
      send({
        key: "zaf.app.registered",
        message: {
          metadata: { appId: 0, installationId: data.installationId, name: "sealdrop", version: data.appVersion, settings: data.settings },
          context: {
            product: "support", location: "ticket_sidebar", ticketId: data.ticket.id,
            instanceGuid: data.appGuid, account: { subdomain: data.currentAccount.subdomain },
          },
        },
        appGuid: data.appGuid,
      });
    } else if (key.startsWith("iframe.on:")) {
      subscribers.set(key.slice("iframe.on:".length), msg.message?.subscriberCount ?? 1);
    } else if (key.startsWith("iframe.off:")) {
      subscribers.set(key.slice("iframe.off:".length), msg.message?.subscriberCount ?? 0);
    }
  });

  // The reply composer: submitting adds a public comment by the signed-in agent.
  const submit = document.getElementById("ticket-submit");
  submit.addEventListener("click", async () => {
    // The simulator stores plain text: a hyperlink keeps its address after its text.
    const copy = editor.cloneNode(true);
    for (const a of copy.querySelectorAll("a[href]")) a.replaceWith(`${a.textContent} (${a.getAttribute("href")})`);
    const blocks = copy.children.length ? [...copy.children].map((b) => b.textContent) : [copy.textContent];
    const body = blocks.join("\n").trim();
    if (!body) return;
    submit.disabled = true;
    const res = await fetch(`/sim/tickets/${data.ticket.id}/comments`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ author_id: data.currentUser.id, body }),
    });
    submit.disabled = false;
    if (!res.ok) return;
    const { comment } = await res.json();
    data.ticket.comments.push({
      id: comment.id, value: `<p>${escapeHtml(comment.body)}</p>`, public: true,
      author: { id: data.currentUser.id, name: data.currentUser.name, email: data.currentUser.email },
    });
    const li = document.createElement("li");
    li.className = "comment";
    li.dataset.commentId = comment.id;
    const pre = document.createElement("pre");
    pre.textContent = comment.body;
    li.append(pre);
    document.getElementById("conversation").append(li);
    editor.replaceChildren();
    trigger("ticket.comments.changed", data.ticket.comments);
    trigger("ticket.updated", { id: data.ticket.id });
  });
})();
