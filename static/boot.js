// Starts the wasm app without an inline script, so the page's Content-Security-Policy can forbid them.
// Trunk writes the <script> tag that loads this file (Trunk.toml's pattern_script) and passes the hashed
// file names in data attributes; URLs are resolved against the page, so any sub-path works.
const tag = document.querySelector('script[data-loadlab-js][data-loadlab-wasm]');

function fail(message) {
  const loading = document.getElementById('loading');
  if (loading) {
    loading.textContent = message;
    loading.className = 'notice';
    loading.setAttribute('role', 'alert');
  }
  console.error(message);
}

try {
  if (!tag) throw new Error('the loader tag is missing');
  const js = new URL(tag.dataset.loadlabJs, document.baseURI);
  const wasm = new URL(tag.dataset.loadlabWasm, document.baseURI);
  const bindings = await import(js.href);
  await bindings.default({ module_or_path: wasm });

  const U64_LIMIT = 1n << 64n;
  // For tests and curious readers: the same trace hash as `loadlab run ... --format json` natively.
  window.loadlab_trace_hash = (scenario, controller, durationS, seed) => {
    const s = BigInt(seed);
    if (s < 0n || s >= U64_LIMIT) throw new RangeError(`seed must be from 0 to 2^64 - 1, got ${seed}`);
    return bindings.trace_hash(String(scenario), String(controller), Number(durationS), s);
  };
  // For the frame-time benchmark: {count, median_ms, p95_ms} of the recent animation-frame callbacks.
  window.loadlab_frame_stats = () => bindings.frame_stats();
  // For tests and people debugging: the run as the page shows it (time_s, speed, achieved_speed, playing,
  // lesson_step, requests, completed, rejected, failed, overloaded; run B under b).
  window.loadlab_status = () => bindings.loadlab_status();
  document.documentElement.dataset.loadlab = 'ready';
} catch (e) {
  fail(`loadlab could not start: ${e && e.message ? e.message : e}`);
}
