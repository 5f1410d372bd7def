// The flows the tests drive, run inside the browser (page.html) or a module Worker (worker.js).

import init, * as wasm from "/pkg/sealdrop_widget.js";
import { Api, ApiError, openLink, sendFiles } from "/js/sealdrop.js";

await init();

export function pattern(size, seed) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function describe(e) {
  return { name: e?.name, kind: e?.kind, index: e?.index, code: e?.code, status: e?.status, message: String(e?.message ?? e) };
}

/** Sends files of `sizes`, opens the link, downloads every file; reports what came back. */
export async function sendAndReceive({ sizes, message = "Here you go", create = {} }) {
  const files = sizes.map((size, i) => new File([pattern(size, i)], `file-${i}.bin`, { type: "application/x-test" }));
  const api = new Api({ headers: { "X-Sealdrop-Widget-Key": "sdw_test" }, backoffMs: 5 });
  const progress = [];
  const sent = await sendFiles({ wasm, api, files, message, sender: "Test Sender", create, onProgress: (d, t) => progress.push([d, t]) });
  const received = await receive(sent.link);
  return { sent, progress, ...received };
}

/** Opens `link` and downloads every file; per file whether it matches its pattern. */
export async function receive(link) {
  const pkg = await openLink({ wasm, api: new Api({ backoffMs: 5 }), link });
  const files = [];
  for (let i = 0; i < pkg.metadata.files.length; i++) {
    const size = pkg.metadata.files[i].size;
    const expected = pattern(size, i);
    let at = 0;
    let same = true;
    try {
      await pkg.downloadFile(i, {
        write: (chunk) => {
          for (let k = 0; k < chunk.length && same; k++) same = chunk[k] === expected[at + k];
          at += chunk.length;
        },
      });
      files.push({ size, received: at, same: same && at === size });
    } catch (e) {
      files.push({ size, received: at, error: describe(e) });
    }
  }
  const metadata = pkg.metadata;
  pkg.free();
  return { metadata, files };
}

/** Runs `fn` and returns its error, described (or null). */
export async function failure(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return describe(e);
  }
}

export { wasm, ApiError };
