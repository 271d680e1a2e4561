// A simulation worker: one run of the page (A or B) in its own thread, so the page's main thread only draws and
// handles input. It loads the same wasm-bindgen output the page uses (their hashed names come in this script's
// query, written by boot.js), so there is no second wasm binary, and hands each message from the page to the
// wasm's `worker_handle`, which answers it (src/web/protocol.rs). The app's own start sees no window here and does
// nothing.
//
// Messages that arrive while the wasm loads are kept, in order (at most EARLY_MAX: the page sends a build and an
// advance, then waits for replies), and answered once it has loaded.
const EARLY_MAX = 64;
const early = [];
let handle = null;
self.onmessage = (event) => {
  if (handle) self.postMessage(handle(event.data));
  else if (early.length < EARLY_MAX) early.push(event.data);
  else throw new Error('loadlab worker: too many messages before the simulator loaded');
};

const query = new URL(self.location.href).searchParams;
const js = new URL(query.get('js') ?? '', self.location.href);
const wasm = new URL(query.get('wasm') ?? '', self.location.href);
if (js.origin !== self.location.origin || wasm.origin !== self.location.origin) {
  throw new Error('loadlab worker: the simulator must come from the page\'s own origin');
}
const bindings = await import(js.href);
await bindings.default({ module_or_path: wasm });
handle = (text) => bindings.worker_handle(String(text));
for (const text of early.splice(0)) self.postMessage(handle(text));
