//! Pre-training at three scales — the lab's little VAE, this page's model, GPT-3 — as bars on a
//! logarithmic axis, with the published figures' sources.

use leptos::prelude::*;

use crate::i18n::Lang;
use crate::state::AppState;

/// One model's figures: parameters, training data, training compute (operations; `None`: not comparable).
struct Figures {
    parameters: f64,
    data: f64,
    compute: Option<f64>,
}

/// Published figures (see [`SOURCES`]). Compute for SmolLM2 is the usual estimate 6 × N × D.
const SMOLLM2: Figures = Figures { parameters: 135e6, data: 2e12, compute: Some(6.0 * 135e6 * 2e12) };
const GPT3: Figures = Figures { parameters: 175e9, data: 300e9, compute: Some(3.14e23) };

/// Where the figures come from: the papers (titles as published), and what each one gives, in English.
const SOURCES_EN: [&str; 3] = [
    "L. Ben Allal et al., “SmolLM2: When Smol Goes Big — Data-Centric Training of a Small Language Model”, 2025, arXiv:2502.02737 — SmolLM2-135M: 2 trillion training tokens.",
    "T. Brown et al., “Language Models are Few-Shot Learners”, 2020, arXiv:2005.14165 — GPT-3: 175 billion parameters, 300 billion training tokens, 3.14 × 10²³ operations.",
    "D. Patterson et al., “Carbon Emissions and Large Neural Network Training”, 2021, arXiv:2104.10350 — GPT-3: 14.8 days on 10,000 V100 GPUs, 1,287 MWh, 552 t CO₂e.",
];

/// The same in French.
const SOURCES_FR: [&str; 3] = [
    "L. Ben Allal et al., « SmolLM2: When Smol Goes Big — Data-Centric Training of a Small Language Model », 2025, arXiv:2502.02737 — SmolLM2-135M : 2\u{202f}000 milliards de tokens d’entraînement.",
    "T. Brown et al., « Language Models are Few-Shot Learners », 2020, arXiv:2005.14165 — GPT-3 : 175 milliards de paramètres, 300 milliards de tokens d’entraînement, 3,14 × 10²³ opérations.",
    "D. Patterson et al., « Carbon Emissions and Large Neural Network Training », 2021, arXiv:2104.10350 — GPT-3 : 14,8 jours sur 10\u{202f}000 processeurs graphiques V100, 1\u{202f}287 MWh, 552 t d’équivalent CO₂.",
];

/// A large number in words: "264 thousand", "135 millions", "2 000 milliards".
pub fn in_words(lang: Lang, x: f64) -> String {
    let (scale, en, fr) = if x >= 1e12 {
        (1e12, "trillion", "000 milliards")
    } else if x >= 1e9 {
        (1e9, "billion", "milliards")
    } else if x >= 1e6 {
        (1e6, "million", "millions")
    } else if x >= 1e3 {
        (1e3, "thousand", "000")
    } else {
        return lang.num(x, 0);
    };
    let n = x / scale;
    let digits = if n < 10.0 && n.fract().abs() > 0.05 { 1 } else { 0 };
    match lang {
        Lang::En => format!("{} {en}", lang.num(n, digits)),
        Lang::Fr if scale == 1e12 => format!("{}\u{202f}{fr}", lang.num(n, digits)),
        Lang::Fr if scale == 1e3 => format!("{}\u{202f}{fr}", lang.num(n, 0)),
        Lang::Fr => format!("{} {fr}", lang.num(n, digits)),
    }
}

/// `x` as a power of ten for the compute row: "1.6 × 10²¹".
fn power_of_ten(lang: Lang, x: f64) -> String {
    let exp = x.log10().floor() as i32;
    let superscript: String = exp
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            d => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'][d.to_digit(10).unwrap_or(0) as usize],
        })
        .collect();
    format!("{} × 10{superscript}", lang.num(x / 10f64.powi(exp), 1))
}

/// One row of bars: its title, a value per model (`None`: not shown), and whether values read as powers
/// of ten (else in words).
pub type BarRow = (&'static str, [Option<f64>; 3], bool);

/// Rows of bars on logarithmic axes (one per row, from a thousand to the row's largest value: a step is
/// ×10), each bar with its model's name and its value.
pub fn log_bars(lang: Lang, names: [&'static str; 3], rows: &[BarRow]) -> impl IntoView {
    rows.iter()
        .map(|&(title, values, powers)| {
            let top = values.iter().flatten().fold(1e3f64, |a, &b| a.max(b)).log10().ceil();
            view! {
                <h3>{title}</h3>
                <ul class="log-bars">
                    {values
                        .iter()
                        .zip(names)
                        .filter_map(|(v, name)| v.map(|v| (v, name)))
                        .map(|(v, name)| {
                            let width = ((v.max(1.0).log10() - 3.0) / (top - 3.0) * 100.0).clamp(1.0, 100.0);
                            let label = if v < 1.0 {
                                "0".to_owned()
                            } else if powers {
                                power_of_ten(lang, v)
                            } else {
                                in_words(lang, v)
                            };
                            view! {
                                <li data-value=v.to_string()>
                                    <span class="name">{name}</span>
                                    <span class="bar"><span style=format!("width: {width:.1}%")></span></span>
                                    <span class="num">{label}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
        })
        .collect_view()
}

/// The published figures of SmolLM2-135M and GPT-3: parameters, training tokens, operations.
pub fn big_models() -> [(f64, f64, f64); 2] {
    let c = |f: &Figures| f.compute.unwrap_or(0.0);
    [(SMOLLM2.parameters, SMOLLM2.data, c(&SMOLLM2)), (GPT3.parameters, GPT3.data, c(&GPT3))]
}

/// The scale view.
#[component]
pub fn Scale(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let lab = Figures {
        parameters: crate::lab::vae_parameters(32 * 32, 2) as f64,
        data: (crate::lab::FACES - 200) as f64,
        compute: None,
    };
    let rows = move || {
        let t = tt();
        vec![
            (t.scale_parameters, [Some(lab.parameters), Some(SMOLLM2.parameters), Some(GPT3.parameters)], false),
            (t.scale_data, [Some(lab.data), Some(SMOLLM2.data), Some(GPT3.data)], false),
            (t.scale_compute, [lab.compute, SMOLLM2.compute, GPT3.compute], true),
        ]
    };
    view! {
        <section class="scale panel" data-testid="scale" aria-labelledby="scale-title">
            <h2 id="scale-title">{move || tt().scale_title}</h2>
            {move || {
                let t = tt();
                log_bars(lang(), [t.scale_lab_model, t.scale_this_model, "GPT-3"], &rows())
            }}
            <p class="muted">{move || tt().scale_note}</p>
            <h3>{move || tt().scale_sources}</h3>
            <ol class="sources">
                {move || {
                    let sources = if lang() == Lang::Fr { SOURCES_FR } else { SOURCES_EN };
                    sources.iter().map(|s| view! { <li>{*s}</li> }).collect_view()
                }}
            </ol>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_numbers_read_in_words() {
        assert_eq!(in_words(Lang::En, 264_196.0), "264 thousand");
        assert_eq!(in_words(Lang::Fr, 264_196.0), "264\u{202f}000");
        assert_eq!(in_words(Lang::En, 135e6), "135 million");
        assert_eq!(in_words(Lang::Fr, 175e9), "175 milliards");
        assert_eq!(in_words(Lang::En, 2e12), "2 trillion");
        assert_eq!(in_words(Lang::Fr, 2e12), "2\u{202f}000 milliards");
        assert_eq!(in_words(Lang::En, 1.5e12), "1.5 trillion");
        assert_eq!(power_of_ten(Lang::En, 3.14e23), "3.1 × 10²³");
        assert_eq!(power_of_ten(Lang::Fr, 1.62e21), "1,6 × 10²¹");
    }
}
