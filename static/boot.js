// Starts the wasm app without an inline script, so the page's Content-Security-Policy can forbid them.
// Trunk writes the <script> tag that loads this file (Trunk.toml's pattern_script) and passes the hashed
// file names in data attributes; URLs are resolved against the page, so any sub-path works.
//
// First, before the wasm has loaded, it draws the page's first screen for the scenario in the URL: its headline,
// its story, the first lesson step, and boxes where the picture, the time bar and the first chart will be, with
// the same classes as the app's (src/web/mod.rs), so the app takes the same places when it mounts and nothing
// moves (CLS). The words come from stories.js, generated from the registry (`loadlab list --format stories-js`).
import { DEFAULT_SCENARIO, STORIES } from './stories.js';

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

/** An element with attributes and children (strings become text, so nothing is parsed as HTML). */
function h(name, attrs = {}, ...children) {
  const e = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

/** The first screen for the URL's scenario, as the app will lay it out; nothing for a scenario it does not know. */
function firstScreen() {
  const query = new URLSearchParams(window.location.search);
  const name = query.get('scenario') || DEFAULT_SCENARIO;
  const story = Object.hasOwn(STORIES, name) ? STORIES[name] : null;
  if (!story) return null;
  const yes = (key) => query.has(key) && ['1', 'true', 'yes', ''].includes(query.get(key));
  const watch = yes('watch');
  const embed = yes('embed') || watch;
  // The app opens a scenario's lesson at its first step unless the link embeds the page or says lesson=off.
  const lessonParam = query.get('lesson') ?? query.get('step');
  const lesson = story.lesson && !embed && lessonParam !== 'off' ? story.lesson : null;
  const firstStep = lesson && (lessonParam === null || lessonParam === '0');
  if (embed) document.documentElement.className = watch ? 'embed watch' : 'embed';

  const main = h('main', { class: embed ? 'page embed first-paint' : 'page first-paint', 'aria-busy': 'true' },
    h('header', { class: 'intro' },
      h('p', { class: 'brand' }, h('strong', {}, 'loadlab'), ' · database clusters under failure, simulated in your browser'),
      h('h1', { id: 'headline' }, story.headline),
      h('p', { class: 'brief', id: 'brief' }, story.brief)),
    // An embed's own heading line, as the app draws it (the page's header is hidden in an embed).
    embed ? h('h1', { class: 'embed-title' }, story.headline) : null,
    h('section', { class: lesson ? 'stage with-lesson' : 'stage', 'aria-label': 'the system and the lesson' },
      h('div', { class: 'stage-main' },
        h('figure', { class: 'picture' }, h('div', { class: 'picture-box' })),
        h('div', { class: 'time-bar' }, h('p', { class: 'loading', id: 'loading' }, 'Loading the simulator…')),
        // The lesson's chart sits in the same column as the picture, so the card stays beside both.
        h('section', { class: 'stage-charts-wrap', 'aria-label': 'the run over time' },
          h('div', { class: 'stage-charts' },
            h('figure', { class: 'chart wide' }, h('div', { class: 'canvas-box' }))))),
      lesson ? h('aside', { class: 'lesson' },
        h('p', { class: 'lesson-count' }, `Lesson · step ${firstStep ? 1 : Number(lessonParam) + 1} of ${lesson.steps}`),
        firstStep ? h('h2', {}, lesson.title) : null,
        firstStep ? h('p', { class: 'lesson-text' }, lesson.text) : null) : null),
    h('section', { class: 'bar', 'aria-label': 'what runs' }, h('div', { class: 'bar-box' })));
  return main;
}

/**
 * Shows the first screen in place of #app's loading line, and returns a function that swaps in the app once its
 * first full render is there (the picture and charts come a frame after it mounts): the screen goes and the app
 * shows in one frame, so nothing the reader saw moves. Without a first screen it returns a no-op.
 */
function showFirstScreen() {
  const app = document.getElementById('app');
  let screen = null;
  try {
    screen = app && firstScreen();
  } catch (e) {
    // The first screen is a nicety: the app draws the page anyway.
    console.warn('loadlab: no first screen:', e);
  }
  if (!screen) return async () => {};
  const holder = h('div', { id: 'first-screen' }, screen);
  app.before(holder);
  // The app mounts into #app (emptied by it); it stays hidden until it has drawn its first full screen.
  app.replaceChildren();
  app.hidden = true;
  return () =>
    new Promise((done) => {
      let observer = null;
      let timer = 0;
      const swap = () => {
        observer?.disconnect();
        clearTimeout(timer);
        holder.remove();
        app.hidden = false;
        done();
      };
      // Its first full screen has the charts' canvases and, above them in the same column, the picture (hidden in
      // an embed); a panic's banner goes before everything.
      const embedded = document.documentElement.classList.contains('embed');
      const drawn = () => app.querySelector('canvas') !== null && (embedded || app.querySelector('#picture svg') !== null);
      const complete = () => drawn() || document.querySelector('.fatal') !== null;
      if (complete()) return swap();
      // Mutation records arrive as microtasks, before the browser paints the app's next frame.
      observer = new MutationObserver(() => complete() && swap());
      observer.observe(app, { childList: true, subtree: true });
      // A run that cannot start has no charts, only its notice: shown after two seconds whatever it drew.
      timer = setTimeout(swap, 2000);
    });
}

const reveal = showFirstScreen();

/**
 * Resolves once the first screen has been painted (the frame after this one), or after 100 ms whatever happens (a
 * background tab paints nothing): the wasm is fetched after the words the reader sees first, not beside them.
 */
function afterPaint() {
  return new Promise((done) => {
    requestAnimationFrame(() => setTimeout(done, 0));
    setTimeout(done, 100);
  });
}

try {
  if (!tag) throw new Error('the loader tag is missing');
  await afterPaint();
  const js = new URL(tag.dataset.loadlabJs, document.baseURI);
  const wasm = new URL(tag.dataset.loadlabWasm, document.baseURI);
  // The runs' Web Workers load the same two files (static/worker.js, src/web/workers.rs); the app looks for
  // this URL when it builds its first run and, without it or without window.Worker, runs on the main thread.
  if (typeof window.Worker === 'function') {
    const worker = new URL('worker.js', document.baseURI);
    worker.search = new URLSearchParams({ js: js.href, wasm: wasm.href }).toString();
    window.loadlab_worker = worker.href;
  }
  const bindings = await import(js.href);
  await bindings.default({ module_or_path: wasm });
  await reveal();

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
