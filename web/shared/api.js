// The client of sealdrop's JSON API (docs/API.md), shared by every page: the recipient page,
// the agent sidebar, the Help Center widget and the uploader they use.
//
//   import { Api, ApiError } from "/static/shared/api.js";
//   const api = new Api({ base: "", headers: { Authorization: "Bearer sda_…" } });
//   const me = await api.json("GET", "/api/v1/me");
//
// Every answer that is not expected becomes an `ApiError` carrying the server's error code
// (`rate_limited`, `verification_required`, ...) and message. Requests carry no cookies and
// no referrer, and are never cached.

/** An error answer of the API: `status`, `code` (`rate_limited`, `payload_too_large`, ...). */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/** Whether an error is worth another try (network failure, 5xx, 429, timeout, a part that
 *  arrived corrupted: the server's SHA-256 differs from the one sent with it). */
export function retriable(err) {
  if (err instanceof ApiError) {
    return err.status >= 500 || err.status === 429 || err.status === 408 || err.code === "checksum_mismatch";
  }
  return err?.name === "TypeError"; // fetch's network error
}

/**
 * A thin client of the JSON API. `headers` go with every request (the caller's credential).
 * Failures that `retriable()` accepts are retried `retries` times with exponential backoff,
 * honouring `Retry-After` (every request this module makes is idempotent).
 */
export class Api {
  constructor({ base = "", headers = {}, fetch = globalThis.fetch.bind(globalThis), retries = 4, backoffMs = 250 } = {}) {
    this.base = base.replace(/\/+$/, "");
    this.headers = headers;
    this.fetch = fetch;
    this.retries = retries;
    this.backoffMs = backoffMs;
  }

  /** Sends a request; returns the Response if its status is in `ok`, else throws ApiError. */
  async request(method, path, { headers = {}, body, json, ok = [200], signal, retries = this.retries } = {}) {
    const init = { method, headers: { ...this.headers, ...headers }, body, signal, mode: "cors", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    }
    for (let attempt = 0; ; attempt++) {
      let error;
      try {
        const response = await this.fetch(this.base + path, init);
        if (ok.includes(response.status)) return response;
        let answer = null;
        try {
          answer = await response.json();
        } catch {
          // Not JSON (a proxy's error page): the status says enough.
        }
        error = new ApiError(response.status, answer?.error ?? "http_error", answer?.message, answer);
        error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      } catch (e) {
        if (signal?.aborted) throw signal.reason ?? e;
        error = e;
      }
      if (!retriable(error) || attempt >= retries) throw error;
      const wait = error.retryAfter > 0 ? error.retryAfter * 1000 : this.backoffMs * 2 ** attempt;
      await sleep(Math.min(wait, 30_000), signal);
    }
  }

  /** `request`, then the JSON body. */
  async json(method, path, options = {}) {
    return (await this.request(method, path, options)).json();
  }
}


/** 16 random bytes in base64url: an `Idempotency-Key` (one per operation, kept across its retries). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
