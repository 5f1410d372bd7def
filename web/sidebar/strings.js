// The sidebar's words: strings/en.json (every string the sidebar shows), fetched once.

let strings = {};

export async function loadStrings() {
  try {
    const res = await fetch("/agent-app/strings/en.json", { cache: "no-cache" });
    strings = await res.json();
  } catch {
    strings = {};
  }
}

/** The translation at dotted `key` (below `sidebar.` unless it starts with `app.`), with `{{var}}`s filled. */
export function t(key, vars = {}) {
  const path = key.startsWith("app.") || key.startsWith("sidebar.") ? key : `sidebar.${key}`;
  let value = path.split(".").reduce((node, part) => (node && typeof node === "object" ? node[part] : undefined), strings);
  if (typeof value !== "string") value = key;
  return value.replace(/\{\{(\w+)\}\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

export function translatePage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
