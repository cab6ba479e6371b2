//! `cargo xtask dist DIR`: a self-contained static folder — the release app, its service worker, the
//! default model under `models/`, and the headers common static hosts read — that works from any static
//! web host, or from a USB stick served by any static server (`python3 -m http.server` in it).

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::serve::CONTENT_SECURITY_POLICY;

/// Marks a folder this command wrote, so writing it again is safe and anything else is left alone.
const MARKER: &str = ".glassbox-dist";

/// The headers the app wants, as Netlify and Cloudflare Pages read them (`_headers`).
fn netlify_headers() -> String {
    format!(
        "/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n  \
         Content-Security-Policy: {CONTENT_SECURITY_POLICY}\n  X-Content-Type-Options: nosniff\n\n\
         /*.wasm\n  Content-Type: application/wasm\n"
    )
}

/// The same for Apache (`.htaccess`).
fn apache_headers() -> String {
    format!(
        "AddType application/wasm .wasm\nAddType application/manifest+json .webmanifest\n\
         <IfModule mod_headers.c>\n  Header set Cross-Origin-Opener-Policy \"same-origin\"\n  \
         Header set Cross-Origin-Embedder-Policy \"require-corp\"\n  \
         Header set Content-Security-Policy \"{CONTENT_SECURITY_POLICY}\"\n  \
         Header set X-Content-Type-Options \"nosniff\"\n</IfModule>\n"
    )
}

const README: &str = "Glassbox, ready to serve from any static web server.\n\n\
Serve this folder as it is, for example:\n\n    python3 -m http.server 8080\n\n\
then open http://127.0.0.1:8080/ on this machine. From another device, open this machine's address;\n\
over plain http:// (not https://, not 127.0.0.1) browsers do not keep the app for offline use,\n\
but each device still runs everything itself once the page and the model have loaded.\n\n\
_headers (Netlify, Cloudflare Pages) and .htaccess (Apache) set the headers the app prefers: with\n\
them the engine uses every core (its threads share memory, which browsers allow a cross-origin\n\
isolated page only). It also works without them, on one core at the first visit; from the next one\n\
the app's service worker adds them itself (over https:// or on 127.0.0.1). The model is models/SmolLM2-135M-Instruct.Q4_1.gguf (Apache-2.0): hosts that\n\
limit files to 25 MB (Cloudflare Pages) cannot serve it; GitHub Pages (100 MB) can.\n";

/// Copies the built app (`built`, Trunk's output) and `model` into `out`, with the hosts' header files.
pub fn write(built: &Path, model: &Path, out: &Path) -> Result<()> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() && !out.join(MARKER).exists() {
        bail!("{} is not empty and was not written by `cargo xtask dist`: choose an empty folder", out.display());
    }
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("models"))?;
    for entry in std::fs::read_dir(built).with_context(|| format!("reading {}", built.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), out.join(entry.file_name()))?;
        }
    }
    let name = model.file_name().context("the model has no file name")?;
    std::fs::copy(model, out.join("models").join(name)).context("copying the model")?;
    std::fs::write(out.join("_headers"), netlify_headers())?;
    std::fs::write(out.join(".htaccess"), apache_headers())?;
    std::fs::write(out.join("README.txt"), README)?;
    std::fs::write(out.join(MARKER), "written by cargo xtask dist\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_copies_the_app_and_model_and_refuses_a_foreign_folder() {
        let root = std::env::temp_dir().join(format!("glassbox-dist-test-{}", std::process::id()));
        let (built, out, foreign) = (root.join("built"), root.join("out"), root.join("foreign"));
        std::fs::create_dir_all(&built).expect("mkdir");
        std::fs::write(built.join("index.html"), "<html></html>").expect("write");
        std::fs::write(built.join("app_bg.wasm"), [0, 97, 115, 109]).expect("write");
        let model = root.join("tiny.gguf");
        std::fs::write(&model, b"GGUF").expect("write");

        write(&built, &model, &out).expect("dist");
        assert_eq!(std::fs::read(out.join("models/tiny.gguf")).expect("model"), b"GGUF");
        assert!(out.join("index.html").is_file() && out.join("app_bg.wasm").is_file());
        let headers = std::fs::read_to_string(out.join("_headers")).expect("_headers");
        assert!(headers.contains(CONTENT_SECURITY_POLICY) && headers.contains("require-corp"));
        assert!(std::fs::read_to_string(out.join(".htaccess")).expect("htaccess").contains("application/wasm"));
        write(&built, &model, &out).expect("writing its own folder again");

        std::fs::create_dir_all(&foreign).expect("mkdir");
        std::fs::write(foreign.join("thesis.odt"), "precious").expect("write");
        let err = write(&built, &model, &foreign).expect_err("a foreign folder");
        assert!(err.to_string().contains("not empty"), "{err}");
        assert!(foreign.join("thesis.odt").is_file(), "nothing was removed");
        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
