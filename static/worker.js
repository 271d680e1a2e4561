// A simulation worker: one run of the page (A or B) in its own thread, so the page's main thread only draws and
// handles input. It loads the same wasm-bindgen output the page uses (their hashed names come in this script's
// query, written by boot.js), so there is no second wasm binary, and hands each message from the page to the
// wasm's `worker_handle`, which answers it (src/web/protocol.rs). The app's own start sees no window here and does
// nothing.
//
// An advance that takes more than one slice goes on by itself: after each slice the worker queues one more on a
// MessageChannel, so the page's messages that arrived meanwhile (a new target, a command) are read first.
//
// Messages that arrive while the wasm loads are kept, in order (at most EARLY_MAX: the page sends a build and an
// advance, then waits for replies), and answered once it has loaded.
const EARLY_MAX = 64;
const early = [];
let bindings = null;
let queued = false;
const later = new MessageChannel();

function goOn() {
  if (!queued && bindings.worker_busy()) {
    queued = true;
    later.port2.postMessage(null);
  }
}

later.port1.onmessage = () => {
  queued = false;
  const report = bindings.worker_go_on();
  if (report !== undefined) self.postMessage(report);
  goOn();
};

function answer(text) {
  self.postMessage(bindings.worker_handle(String(text)));
  goOn();
}

self.onmessage = (event) => {
  if (bindings) answer(event.data);
  else if (early.length < EARLY_MAX) early.push(event.data);
  else throw new Error('loadlab worker: too many messages before the simulator loaded');
};

const query = new URL(self.location.href).searchParams;
const js = new URL(query.get('js') ?? '', self.location.href);
const wasm = new URL(query.get('wasm') ?? '', self.location.href);
if (js.origin !== self.location.origin || wasm.origin !== self.location.origin) {
  throw new Error('loadlab worker: the simulator must come from the page\'s own origin');
}
const loaded = await import(js.href);
await loaded.default({ module_or_path: wasm });
bindings = loaded;
for (const text of early.splice(0)) answer(text);
