//! The screen as an address: which page, which lesson step, the chat's questions and the game's text,
//! the sampling settings and seed, the explorer's layer/head/step/view and the lab's setup all live
//! after the `#`, so a link opened on another device shows the same screen (same seed, same answer).
//! Plain data, tested natively: [`Route::parse`] never panics, and anything it cannot read is an error
//! the page shows in one line before opening the default screen.
//!
//! ```text
//! #chat?q=Bonjour&t=0.3&k=40&p=0.9&seed=42&layer=7&head=4&pos=35&hv=lines
//! #game?text=Le%20chat%20mange%20la&t=0.8&seed=7
//! #lab?data=faces&code=2&beta=1
//! #doubt?q=Qui%20%C3%A9tait%20…&t=0.8&seed=1&max=60
//! #lesson/t2
//! ```

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Page {
    /// The chat, tokens and attention explorer.
    #[default]
    Chat,
    /// The next-word game with live sampling.
    Game,
    /// The masked-word game.
    Masked,
    /// The map of words.
    Words,
    /// The hallucination lab.
    Doubt,
    /// The preference game.
    Prefer,
    /// The autoencoder lab.
    Lab,
    /// The pre-training lab.
    Pretrain,
    /// The model's thoughts through a sparse autoencoder.
    Thoughts,
    /// The lesson, at a step (its id).
    Lesson,
}

impl Page {
    /// The name in the address.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Game => "game",
            Self::Masked => "masked",
            Self::Words => "words",
            Self::Doubt => "doubt",
            Self::Prefer => "prefer",
            Self::Lab => "lab",
            Self::Pretrain => "pretrain",
            Self::Thoughts => "thoughts",
            Self::Lesson => "lesson",
        }
    }
}

/// Sampling settings carried by a link (each one optional: what is absent keeps its current value).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SamplingLink {
    /// Temperature.
    pub temperature: Option<f32>,
    /// Top-k.
    pub top_k: Option<usize>,
    /// Top-p.
    pub top_p: Option<f32>,
    /// Seed.
    pub seed: Option<u64>,
    /// Most tokens per answer.
    pub max_tokens: Option<usize>,
}

/// What the attention explorer shows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExplorerLink {
    /// Layer.
    pub layer: Option<usize>,
    /// Head (`Some(None)`: the mean of the heads).
    pub head: Option<Option<usize>>,
    /// The token selected.
    pub position: Option<usize>,
    /// The lines view (`Some(false)`: the matrix).
    pub lines: Option<bool>,
    /// The first token hidden (`Some(false)`: shown).
    pub hide_sink: Option<bool>,
}

/// The lab's setup.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LabLink {
    /// Digits rather than faces.
    pub digits: Option<bool>,
    /// Code size.
    pub latent: Option<usize>,
    /// The VAE's β.
    pub beta: Option<f32>,
}

/// One screen, as the address says it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route {
    /// Which page.
    pub page: Page,
    /// The lesson step's id (lesson page only).
    pub step: Option<String>,
    /// The chat's questions, in order.
    pub questions: Vec<String>,
    /// The next-word game's text, or the masked-word game's sentence.
    pub text: Option<String>,
    /// The masked-word game's candidate words, or the map's words.
    pub candidates: Vec<String>,
    /// Sampling.
    pub sampling: SamplingLink,
    /// The explorer.
    pub explorer: ExplorerLink,
    /// The lab.
    pub lab: LabLink,
}

/// Bounds on what a link may ask for: a link is typed by nobody in particular.
const MAX_LAYER: usize = 1024;
const MAX_POSITION: usize = 1 << 20;

impl Route {
    /// Reads an address's fragment (with or without its `#`). An empty one is the default screen.
    pub fn parse(hash: &str) -> Result<Self, String> {
        let hash = hash.strip_prefix('#').unwrap_or(hash);
        let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
        let (page, step) = path.split_once('/').map_or((path, None), |(p, s)| (p, Some(s)));
        let mut route = Self {
            page: match page {
                "" | "chat" => Page::Chat,
                "game" => Page::Game,
                "masked" => Page::Masked,
                "words" => Page::Words,
                "doubt" => Page::Doubt,
                "prefer" => Page::Prefer,
                "lab" => Page::Lab,
                "pretrain" => Page::Pretrain,
                "thoughts" => Page::Thoughts,
                "lesson" => Page::Lesson,
                other => return Err(format!("unknown page «{}»", clip(&decode(other).unwrap_or_default()))),
            },
            ..Self::default()
        };
        match step {
            Some(s) if route.page == Page::Lesson && !s.is_empty() => route.step = Some(decode(s)?),
            Some(s) if !s.is_empty() => return Err(format!("unknown page «{}»", clip(path))),
            _ => {}
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(raw)?;
            let bad = || format!("«{key}={}» is not a value this page understands", clip(&value));
            let s = &mut route.sampling;
            let e = &mut route.explorer;
            match key {
                "q" => route.questions.push(value),
                "text" => route.text = Some(value),
                // Each word percent-encoded, so a comma between them is a separator.
                "c" => {
                    route.candidates =
                        raw.split(',').filter(|w| !w.is_empty()).map(decode).collect::<Result<_, _>>()?;
                }
                "t" => s.temperature = Some(number(&value, 0.0, 2.0).ok_or_else(bad)?),
                "k" => s.top_k = Some(number(&value, 0.0, 1e6).ok_or_else(bad)? as usize),
                "p" => s.top_p = Some(number(&value, 0.0, 1.0).ok_or_else(bad)?),
                "seed" => s.seed = Some(value.parse().map_err(|_| bad())?),
                "max" => s.max_tokens = Some(number(&value, 1.0, 1e6).ok_or_else(bad)? as usize),
                "layer" => e.layer = Some(number(&value, 0.0, MAX_LAYER as f32).ok_or_else(bad)? as usize),
                "head" if value == "mean" => e.head = Some(None),
                "head" => e.head = Some(Some(number(&value, 0.0, MAX_LAYER as f32).ok_or_else(bad)? as usize)),
                "pos" => e.position = Some(value.parse().ok().filter(|&p| p < MAX_POSITION).ok_or_else(bad)?),
                "hv" => e.lines = Some(flag(&value, "lines", "matrix").ok_or_else(bad)?),
                "sink" => e.hide_sink = Some(flag(&value, "hide", "show").ok_or_else(bad)?),
                "data" => route.lab.digits = Some(flag(&value, "digits", "faces").ok_or_else(bad)?),
                "code" => route.lab.latent = Some(number(&value, 2.0, 32.0).ok_or_else(bad)? as usize),
                "beta" => route.lab.beta = Some(number(&value, 0.0, 4.0).ok_or_else(bad)?),
                // Another app's fragment (an OAuth token, a router path) is not ours to read.
                _ => return Err(format!("unknown setting «{}»", clip(key))),
            }
        }
        Ok(route)
    }

    /// The fragment, `#` included; [`Route::parse`] reads it back to the same route.
    pub fn to_hash(&self) -> String {
        let mut out = format!("#{}", self.page.slug());
        if let Some(step) = self.step.as_deref().filter(|_| self.page == Page::Lesson) {
            out.push('/');
            out.push_str(&encode(step));
        }
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.extend(self.questions.iter().map(|q| ("q", encode(q))));
        if let Some(text) = &self.text {
            pairs.push(("text", encode(text)));
        }
        if !self.candidates.is_empty() {
            pairs.push(("c", self.candidates.iter().map(|w| encode(w)).collect::<Vec<_>>().join(",")));
        }
        let s = &self.sampling;
        pairs.extend(s.temperature.map(|v| ("t", short(v))));
        pairs.extend(s.top_k.map(|v| ("k", v.to_string())));
        pairs.extend(s.top_p.map(|v| ("p", short(v))));
        pairs.extend(s.seed.map(|v| ("seed", v.to_string())));
        pairs.extend(s.max_tokens.map(|v| ("max", v.to_string())));
        let e = &self.explorer;
        pairs.extend(e.layer.map(|v| ("layer", v.to_string())));
        pairs.extend(e.head.map(|h| ("head", h.map_or_else(|| "mean".to_owned(), |h| h.to_string()))));
        pairs.extend(e.position.map(|v| ("pos", v.to_string())));
        pairs.extend(e.lines.map(|l| ("hv", if l { "lines" } else { "matrix" }.to_owned())));
        pairs.extend(e.hide_sink.map(|h| ("sink", if h { "hide" } else { "show" }.to_owned())));
        let l = &self.lab;
        pairs.extend(l.digits.map(|d| ("data", if d { "digits" } else { "faces" }.to_owned())));
        pairs.extend(l.latent.map(|v| ("code", v.to_string())));
        pairs.extend(l.beta.map(|v| ("beta", short(v))));
        for (i, (key, value)) in pairs.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out
    }
}

/// A float in `[lo, hi]`, or `None`.
fn number(s: &str, lo: f32, hi: f32) -> Option<f32> {
    s.parse::<f32>().ok().filter(|v| v.is_finite() && (lo..=hi).contains(v))
}

/// `yes` → true, `no` → false, anything else `None`.
fn flag(s: &str, yes: &str, no: &str) -> Option<bool> {
    (s == yes).then_some(true).or((s == no).then_some(false))
}

/// A float without trailing zeros: 0.3, 40, 0.95.
fn short(v: f32) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The first 40 characters, for a message.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as UTF-8.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode`] (and accepts any valid percent-encoding); an error for a broken escape or bytes
/// that are not UTF-8.
pub fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| format!("«{}» is not a valid escape", clip(&s[i..])))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the link's text is not valid UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_route_reads_back_to_itself() {
        let route = Route {
            page: Page::Chat,
            questions: vec!["Qui était Marie Curie ?".into(), "Et après & avant = 100 % ?".into()],
            text: Some("Le chat mange la".into()),
            candidates: vec!["chat".into(), "chien, loup".into()],
            sampling: SamplingLink {
                temperature: Some(0.3),
                top_k: Some(40),
                top_p: Some(0.95),
                seed: Some(18_446_744_073_709_551_615),
                max_tokens: Some(64),
            },
            explorer: ExplorerLink {
                layer: Some(7),
                head: Some(None),
                position: Some(35),
                lines: Some(true),
                hide_sink: Some(false),
            },
            lab: LabLink { digits: Some(true), latent: Some(2), beta: Some(1.5) },
            step: None,
        };
        let hash = route.to_hash();
        assert!(hash.starts_with("#chat?q=Qui%20%C3%A9tait"), "{hash}");
        assert_eq!(Route::parse(&hash), Ok(route));
    }

    #[test]
    fn tabs_and_lesson_steps_have_short_addresses() {
        assert_eq!(Route::parse("").map(|r| r.page), Ok(Page::Chat));
        assert_eq!(Route::parse("#lab").map(|r| r.page), Ok(Page::Lab));
        let step = Route::parse("#lesson/t2").expect("a step");
        assert_eq!((step.page, step.step.as_deref()), (Page::Lesson, Some("t2")));
        assert_eq!(step.to_hash(), "#lesson/t2");
        assert_eq!(Route { page: Page::Game, ..Route::default() }.to_hash(), "#game");
    }

    #[test]
    fn broken_or_foreign_links_are_errors_that_say_why() {
        for (hash, why) in [
            ("#access_token=abc&state=xyz", "unknown page"),
            ("#/settings/profile", "unknown page"),
            ("#chat?t=hot", "«t=hot»"),
            ("#chat?t=9", "«t=9»"),
            ("#chat?q=%E9t%C3", "UTF-8"),
            ("#chat?q=%zz", "not a valid escape"),
            ("#chat?layer=-1", "«layer=-1»"),
            ("#lab?code=64", "«code=64»"),
            ("#chat?colour=red", "unknown setting «colour»"),
            ("#chat/extra", "unknown page «chat/extra»"),
        ] {
            let err = Route::parse(hash).expect_err(hash);
            assert!(err.contains(why), "{hash}: {err}");
        }
    }

    #[test]
    fn encoding_round_trips_any_text() {
        for text in ["", "a b", "l'école « ici » 100 % & = ? # /", "日本語 🐈", "%41"] {
            assert_eq!(decode(&encode(text)).as_deref(), Ok(text));
        }
        assert_eq!(decode("caf%C3%A9").as_deref(), Ok("café"));
        assert_eq!(short(0.300_000_01), "0.3");
        assert_eq!(short(40.0), "40");
        assert_eq!(short(0.0), "0");
    }
}
