// Glassbox's service worker: keeps the app's own files, so after one visit the page opens with the
// network off. Model files are not its business: the engine worker keeps those in the Cache API.
// One cache per build: `cargo xtask` stamps the build's hash in place of "dev" after each Trunk build, so
// an offline page is always served one build's files, never a mix of two.
const SHELL = "glassbox-shell-dev";
const FILES = [
  "./",
  "./index.html",
  "./boot.js",
  "./app.js",
  "./app_bg.wasm",
  "./worker.js",
  "./worker_bg.wasm",
  "./worker_loader.js",
  "./worker_relaxed.js",
  "./worker_relaxed_bg.wasm",
  "./worker_relaxed_loader.js",
  "./worker_threads.js",
  "./worker_threads_bg.wasm",
  "./worker_threads_loader.js",
  "./worker_threads_helper.js",
  "./threads_loader.js",
  "./threads_helper.js",
  "./lab_worker.js",
  "./lab_worker_bg.wasm",
  "./lab_worker_loader.js",
  "./lab_worker_threads.js",
  "./lab_worker_threads_bg.wasm",
  "./lab_worker_threads_loader.js",
  "./lab_worker_threads_helper.js",
  "./pretrain_worker.js",
  "./pretrain_worker_bg.wasm",
  "./pretrain_worker_loader.js",
  "./pretrain_worker_threads.js",
  "./pretrain_worker_threads_bg.wasm",
  "./pretrain_worker_threads_loader.js",
  "./pretrain_worker_threads_helper.js",
  "./style.css",
  "./favicon.svg",
  "./manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  // Drop the copies kept by older versions of this file.
  const old = caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("glassbox-shell-") && k !== SHELL).map((k) => caches.delete(k))));
  event.waitUntil(old.then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.includes("/models/")) {
    return;
  }
  // Network first, so a new build is used as soon as it is served; this build's kept copy when offline
  // (filled once, at install: what the network answers later may belong to a newer build).
  event.respondWith(
    fetch(event.request)
      .catch(() =>
        caches.open(SHELL).then(async (cache) => {
          const hit = await cache.match(event.request, { ignoreSearch: true });
          const page = event.request.mode === "navigate" ? await cache.match("./index.html") : undefined;
          return hit ?? page ?? Response.error();
        }),
      )
      .then(isolated),
  );
});

// Every file this worker serves carries the cross-origin isolation headers, so the page and its workers
// may share memory (the engine's build with threads: app/src/kernels.rs) on any static host, even one
// that sends no such headers, from the second visit on (a service worker controls a page once it has
// loaded). Everything the app loads is its own origin's, which these headers allow.
function isolated(response) {
  // (A network error, an opaque response or a navigation's redirect has status 0: passed on as it is.)
  if (response.status === 0 || response.headers.has("Cross-Origin-Embedder-Policy")) {
    return response;
  }
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
