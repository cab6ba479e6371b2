//! A small static server for `dist/` plus the model under `/models/`, on 127.0.0.1 only. It sets the
//! cross-origin isolation headers (COOP/COEP) that multithreaded wasm will need, and no caching headers
//! that would fight the service worker.

use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use tiny_http::{Header, Method, Request, Response, Server};

/// Requests answered at once: a model transfer holds a thread for its whole length, and a class's devices
/// (or a browser's parallel fetches, a service worker installing) must not wait behind a few of them.
const THREADS: usize = 32;

/// Sent with every file, so it also governs the engine's worker (a page's `<meta>` policy does not
/// reach its workers). `index.html` carries the same policy for any other static host; a test keeps the
/// two equal. Nothing may leave the origin: `blob:` is a GGUF file the user opened, `data:` an export.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' blob:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; form-action 'none'";

/// A running server; it stops when the process exits.
#[derive(Debug)]
pub struct Running {
    /// `http://127.0.0.1:<port>/`
    pub url: String,
}

/// Where the server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// This machine only (127.0.0.1).
    Local,
    /// Every network interface, for the devices of a class on the same network.
    Lan,
}

/// Serves until the process is killed, printing the URL (and, on the LAN, the address the class types
/// or scans).
pub fn serve_forever(dist: &Path, model: &Path, port: u16, listen: Listen) -> Result<()> {
    let running = start(&[("/", dist)], model, port, listen)?;
    println!("Glassbox is served on {}  (Ctrl-C stops it)", running.url);
    if listen == Listen::Lan {
        match lan_url(&running.url) {
            Some(url) => {
                println!("\nOn the class's devices (same network), open {url}\n");
                println!("{}", terminal_qr(&url));
                let model_mb = std::fs::metadata(model).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
                println!(
                    "Each device loads the app and the model ({model_mb:.0} MB) once: 30 devices take about {:.0} minutes on a \
                     100 Mbit/s network; each then runs without the network.",
                    30.0 * model_mb / 12.5 / 60.0
                );
            }
            None => println!("No network address found: the class's devices cannot reach this machine."),
        }
    }
    loop {
        std::thread::park();
    }
}

/// `url` with 127.0.0.1 replaced by this machine's address on its network.
pub fn lan_url(url: &str) -> Option<String> {
    let ip = local_ip_address::local_ip().ok().filter(|ip| !ip.is_loopback())?;
    let host = match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    };
    Some(url.replacen("127.0.0.1", &host, 1))
}

/// A QR code of `text` drawn with Unicode half blocks, dark on a light margin, for a terminal.
pub fn terminal_qr(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
        Err(err) => format!("(no QR code: {err})"),
    }
}

/// Starts the server on `port` (0: any free port) in background threads. `mounts` maps URL prefixes
/// (each ending in `/`) to directories; the longest matching prefix wins. The URL returned names
/// 127.0.0.1 either way ([`lan_url`] gives the network one).
pub fn start(mounts: &[(&str, &Path)], model: &Path, port: u16, listen: Listen) -> Result<Running> {
    start_with_policy(mounts, model, port, listen, CONTENT_SECURITY_POLICY.to_string())
}

/// The app's policy, plus `blob:` workers: wllama (the browser benchmark's peer, not the app) starts its
/// worker from a blob URL.
pub fn bench_policy() -> String {
    CONTENT_SECURITY_POLICY.replace("worker-src 'self'", "worker-src 'self' blob:")
}

/// [`start`] with another Content-Security-Policy (the browser benchmark's pages).
pub fn start_with_policy(
    mounts: &[(&str, &Path)],
    model: &Path,
    port: u16,
    listen: Listen,
    policy: String,
) -> Result<Running> {
    let host = match listen {
        Listen::Local => "127.0.0.1",
        Listen::Lan => "0.0.0.0",
    };
    let server = Server::http((host, port))
        .map_err(|err| anyhow::anyhow!("{err}"))
        .with_context(|| format!("cannot listen on {host}:{port} (is another server running there? try --port)"))?;
    let actual_port = server.server_addr().to_ip().context("server has no IP address")?.port();
    let server = Arc::new(server);
    let mut mounts: Vec<(String, PathBuf)> = mounts.iter().map(|(p, d)| (p.to_string(), d.to_path_buf())).collect();
    mounts.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    let site = Arc::new(Site { mounts, model: model.to_path_buf(), policy });
    for _ in 0..THREADS {
        let (server, site) = (Arc::clone(&server), Arc::clone(&site));
        std::thread::spawn(move || {
            while let Ok(request) = server.recv() {
                site.answer(request);
            }
        });
    }
    Ok(Running { url: format!("http://127.0.0.1:{actual_port}/") })
}

struct Site {
    /// URL prefix → directory, longest prefix first.
    mounts: Vec<(String, PathBuf)>,
    model: PathBuf,
    /// The Content-Security-Policy sent with every file.
    policy: String,
}

impl Site {
    fn answer(&self, request: Request) {
        let trustworthy =
            request.headers().iter().find(|h| h.field.equiv("Host")).is_none_or(|h| trustworthy_host(h.value.as_str()));
        let result = if matches!(request.method(), Method::Get | Method::Head) {
            match self.resolve(request.url()) {
                Some(path) => match File::open(&path) {
                    Ok(file) => {
                        let response =
                            Response::from_file(file).with_header(header("Content-Type", content_type(&path)));
                        request.respond(with_common_headers(response, trustworthy, &self.policy))
                    }
                    Err(_) => request.respond(with_common_headers(not_found(), trustworthy, &self.policy)),
                },
                None => request.respond(with_common_headers(not_found(), trustworthy, &self.policy)),
            }
        } else {
            request.respond(Response::from_string("method not allowed").with_status_code(405))
        };
        if let Err(err) = result {
            eprintln!("serve: {err}");
        }
    }

    /// Maps a URL path to a file: `/models/<the model>` or a file under a mount (`.../` is `index.html`).
    /// Anything that would climb out of its mount is refused.
    fn resolve(&self, url: &str) -> Option<PathBuf> {
        let path = url.split(['?', '#']).next().unwrap_or("/");
        if let Some(name) = path.strip_prefix("/models/") {
            return (Some(std::ffi::OsStr::new(name)) == self.model.file_name()).then(|| self.model.clone());
        }
        let (prefix, dir) = self.mounts.iter().find(|(prefix, _)| path.starts_with(prefix.as_str()))?;
        let relative = Path::new(&path[prefix.len()..]);
        if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        let candidate = if path.ends_with('/') { dir.join(relative).join("index.html") } else { dir.join(relative) };
        candidate.is_file().then_some(candidate)
    }
}

/// Whether a `Host` header names this machine (a browser's "potentially trustworthy" origin over http).
fn trustworthy_host(host: &str) -> bool {
    let name = host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |p| p.0);
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

fn not_found() -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string("not found").with_status_code(404)
}

/// Headers for every response. A browser honours the cross-origin opener policy only on a trustworthy
/// origin (https, or this machine): to a class's device reaching us by plain http on the LAN it is not
/// sent, as the browser would ignore it with a console error.
fn with_common_headers<R: std::io::Read>(response: Response<R>, trustworthy: bool, policy: &str) -> Response<R> {
    let response =
        if trustworthy { response.with_header(header("Cross-Origin-Opener-Policy", "same-origin")) } else { response };
    response
        // Never chunked: a Content-Length lets the app show download progress and read sizes from HEAD.
        .with_chunked_threshold(usize::MAX)
        .with_header(header("Cross-Origin-Embedder-Policy", "require-corp"))
        .with_header(header("Cache-Control", "no-cache"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("Content-Security-Policy", policy))
}

fn header(name: &str, value: &str) -> Header {
    // Both are ASCII literals from this file, so this cannot fail.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap_or_else(|()| unreachable!("ASCII header"))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|ext| ext.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_this_machine_is_a_trustworthy_host() {
        for host in ["127.0.0.1:8080", "localhost", "localhost:80", "[::1]:8080", "[::1]"] {
            assert!(super::trustworthy_host(host), "{host}");
        }
        for host in ["192.168.1.20:8080", "[fd00::2]:8090", "example.org", "127.0.0.1.example.org"] {
            assert!(!super::trustworthy_host(host), "{host}");
        }
    }

    #[test]
    fn index_html_carries_the_policy_the_server_sends() {
        let html = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../index.html")).expect("index.html");
        let meta = html.split("http-equiv=\"Content-Security-Policy\"").nth(1).expect("a CSP <meta> in index.html");
        let content = meta.split("content=\"").nth(1).and_then(|c| c.split('"').next()).expect("its content");
        assert_eq!(content, super::CONTENT_SECURITY_POLICY);
    }

    #[test]
    fn the_bench_policy_is_the_apps_with_blob_workers_only() {
        let (app, bench) = (super::CONTENT_SECURITY_POLICY, super::bench_policy());
        assert!(bench.contains("worker-src 'self' blob:;"), "{bench}");
        assert_eq!(bench.replacen("worker-src 'self' blob:", "worker-src 'self'", 1), app, "one change");
    }
}
