// Starts the app (a file rather than Trunk's inline script, so the Content-Security-Policy can forbid
// inline scripts), then registers the service worker that lets the page open with the network off.
import init from "./app.js";

await init({ module_or_path: "./app_bg.wasm" });

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js").catch((err) => console.warn("offline use is unavailable:", err));
}
