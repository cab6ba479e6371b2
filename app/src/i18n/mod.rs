//! The page's words in English and French. Every text lives in one [`Texts`] table per language, so a
//! string missing from one language is a compile error, not a blank on a projector. This file holds the
//! chat's and the explorer's table; each view has its own (`lab`, `teach`, `doubt`, …), and the
//! sentences built from figures live in `phrases` and `teach_phrases`.

mod card;
mod doubt;
mod lab;
mod phrases;
mod prefer;
mod pretrain;
mod teach;
mod teach_phrases;
mod thoughts;

pub use doubt::DoubtTexts;
pub use lab::LabTexts;
pub use phrases::{Cores, CpuReason, OneCore, Placement, WasmSimd};
pub use prefer::PreferTexts;
pub use pretrain::PretrainTexts;
pub use teach::TeachTexts;
pub use thoughts::ThoughtsTexts;

use serde::{Deserialize, Serialize};

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The language for a browser language tag (`fr`, `fr-CA`, …); English otherwise.
    pub fn from_tag(tag: &str) -> Self {
        if tag.to_ascii_lowercase().starts_with("fr") {
            Self::Fr
        } else {
            Self::En
        }
    }

    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// This language's texts.
    pub fn t(self) -> &'static Texts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }

    /// A number with this language's decimal mark.
    pub fn num(self, x: f64, decimals: usize) -> String {
        let s = format!("{x:.decimals$}");
        match self {
            Self::En => s,
            Self::Fr => s.replace('.', ","),
        }
    }

    /// "; " in English, " ; " in French (a space before high punctuation).
    pub fn semicolon(self) -> &'static str {
        match self {
            Self::En => "; ",
            Self::Fr => "\u{202f}; ",
        }
    }

    /// ": " in English, " : " in French.
    pub fn colon(self) -> &'static str {
        match self {
            Self::En => ": ",
            Self::Fr => "\u{a0}: ",
        }
    }
}

/// Every fixed text of the page.
#[derive(Debug)]
pub struct Texts {
    pub tagline: &'static str,
    pub language: &'static str,
    pub theme: &'static str,
    pub theme_auto: &'static str,
    pub theme_light: &'static str,
    pub theme_dark: &'static str,
    pub projector: &'static str,
    pub projector_hint: &'static str,
    pub letters: [(&'static str, &'static str, &'static str); 4],

    pub chat: &'static str,
    pub you: &'static str,
    pub model: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub stop: &'static str,
    pub new_conversation: &'static str,
    pub conversations: &'static str,
    pub untitled: &'static str,
    pub delete: &'static str,
    pub delete_hint: &'static str,
    pub edit: &'static str,
    pub resend: &'static str,
    pub cancel: &'static str,
    pub regenerate: &'static str,
    pub export_markdown: &'static str,
    pub export_json: &'static str,
    pub empty_chat: &'static str,
    pub shortcuts: &'static str,
    pub stopped: &'static str,
    pub kept_here: &'static str,

    pub settings: &'static str,
    pub system_prompt: &'static str,
    pub system_prompt_hint: &'static str,
    pub temperature: &'static str,
    pub temperature_hint: &'static str,
    pub top_k: &'static str,
    pub top_k_hint: &'static str,
    pub top_p: &'static str,
    pub top_p_hint: &'static str,
    pub max_tokens: &'static str,
    pub max_tokens_hint: &'static str,
    pub seed: &'static str,
    pub seed_hint: &'static str,
    pub trace: &'static str,
    pub trace_hint: &'static str,
    pub reset: &'static str,

    pub tokens: &'static str,
    pub tokens_intro: &'static str,
    pub tokens_empty: &'static str,
    pub sure: &'static str,
    pub unsure: &'static str,
    pub prompt_token: &'static str,
    pub chosen_with: &'static str,
    pub alternatives: &'static str,

    pub attention: &'static str,
    pub attention_intro: &'static str,
    pub attention_empty: &'static str,
    pub attention_off: &'static str,
    pub layer: &'static str,
    pub head: &'static str,
    pub mean_of_heads: &'static str,
    pub hide_sink: &'static str,
    pub matrix_view: &'static str,
    pub lines_view: &'static str,
    pub follow: &'static str,
    pub play: &'static str,
    pub export_png: &'static str,
    pub export_svg: &'static str,
    pub grid_hint: &'static str,
    pub matrix_hint: &'static str,
    pub lines_hint: &'static str,
    pub not_read_yet: &'static str,
    pub untraced: &'static str,

    pub machine: &'static str,
    pub engine_runs_on: &'static str,
    pub decided_later: &'static str,
    pub gpu_found: &'static str,
    pub looking_for_gpu: &'static str,
    pub engine_silent: &'static str,
    pub engine_restart: &'static str,
    pub model_label: &'static str,
    pub loading: &'static str,
    pub open_gguf: &'static str,
    pub drop_hint: &'static str,
    pub load_failed: &'static str,
    pub still_loaded: &'static str,
    pub gpu_kernels: &'static str,
    pub cpu_engine: &'static str,
    pub cpu_engine_relaxed: &'static str,
    /// The CPU engine on several cores (`{n}`).
    pub on_cores: &'static str,
    pub on_one_core: &'static str,
    pub one_core_only: &'static str,
    pub one_core_not_isolated: &'static str,
    pub one_core_no_relaxed: &'static str,
    pub one_core_no_wait_async: &'static str,
    pub one_core_failed: &'static str,
    pub software_gpu: &'static str,
    pub problem: &'static str,
    pub tab_chat: &'static str,
    pub tab_lab: &'static str,
}

/// English.
pub static EN: Texts = Texts {
    tagline: "A transformer you can see through. It runs on your machine; nothing leaves it.",
    language: "Language",
    theme: "Theme",
    theme_auto: "Auto",
    theme_light: "Light",
    theme_dark: "Dark",
    projector: "Projector",
    projector_hint: "Larger text and thicker lines, for a room",
    letters: [
        ("T", "Transformer", "Text becomes tokens, tokens become vectors, and attention decides which earlier words matter."),
        ("G", "Generative", "Squeeze, rebuild, predict the next word: how a model makes something new."),
        ("P", "Pre-trained", "The same small ideas, repeated over enormous amounts of text."),
        ("Chat", "Conversation", "Templates, sampling and preferences turn a text predictor into an assistant that can still be wrong."),
    ],

    chat: "Chat",
    you: "You",
    model: "Model",
    placeholder: "Ask something… (Enter sends, Shift+Enter for a new line, Esc stops)",
    send: "Send",
    stop: "Stop",
    new_conversation: "New conversation",
    conversations: "Conversations kept on this device",
    untitled: "New conversation",
    delete: "Delete",
    delete_hint: "Forget this conversation (it is kept in this browser only)",
    edit: "Edit",
    resend: "Send again",
    cancel: "Cancel",
    regenerate: "Regenerate",
    export_markdown: "Export Markdown",
    export_json: "Export JSON",
    empty_chat: "Ask anything. The model is small (135 million parameters): it writes fluently and is often wrong. Watch how sure it is, token by token.",
    shortcuts: "Enter: send · Esc: stop",
    stopped: "Stopped.",
    kept_here: "Conversations are kept in this browser only.",

    settings: "Settings",
    system_prompt: "System prompt",
    system_prompt_hint: "Instructions the model reads before the conversation (empty: the model's own default).",
    temperature: "Temperature",
    temperature_hint: "0 always takes the most likely token; higher values take more risks.",
    top_k: "Top-k",
    top_k_hint: "Choose among the k most likely tokens only (0: no limit).",
    top_p: "Top-p",
    top_p_hint: "Choose among the most likely tokens whose probabilities add up to p (1: no limit).",
    max_tokens: "Max tokens",
    max_tokens_hint: "The answer stops after this many tokens.",
    seed: "Seed",
    seed_hint: "The same seed and settings give the same answer; Regenerate tries the next seed.",
    trace: "Record attention",
    trace_hint: "Keep every layer's and head's attention for the explorer (costs a little speed).",
    reset: "Defaults",

    tokens: "Tokens",
    tokens_intro: "What the model reads (grey: the prompt, chat template included) and what it writes, coloured by how sure it was. Click a token.",
    tokens_empty: "Ask something to see the tokens.",
    sure: "sure",
    unsure: "unsure",
    prompt_token: "Part of the prompt: the model read this token, it did not choose it.",
    chosen_with: "chosen with probability",
    alternatives: "What it could have written instead",

    attention: "Attention",
    attention_intro: "For each token, every head of every layer spreads a total weight of 1 over the tokens before it: what it 'looks at' to predict what comes next.",
    attention_empty: "Ask something: attention is recorded while the model answers.",
    attention_off: "Attention recording is off (see Settings).",
    layer: "Layer",
    head: "Head",
    mean_of_heads: "Mean of heads",
    hide_sink: "Hide the first token and renormalise",
    matrix_view: "Matrix",
    lines_view: "Lines",
    follow: "Follow the latest token",
    play: "Replay",
    export_png: "PNG",
    export_svg: "SVG",
    grid_hint: "Every layer (rows) and head (columns). Hover to preview, click to choose.",
    matrix_hint: "Rows: the token reading; columns: the tokens it looks at. Grey: the future, which it cannot see.",
    lines_hint: "Left: the selected token; right: the tokens it looks at. The darker the line, the larger the weight.",
    not_read_yet: "The newest token has not been read by the model yet: its attention appears when it is fed back in.",
    untraced: "not recorded",

    machine: "This machine",
    engine_runs_on: "Engine runs on",
    decided_later: "decided once the model is loaded",
    gpu_found: "GPU found",
    looking_for_gpu: "looking for a GPU…",
    engine_silent: "The engine has not started after 20 seconds. On a slow network its code may still be arriving: wait, or start it again.",
    engine_restart: "Start the engine again",
    model_label: "Model",
    loading: "loading…",
    open_gguf: "Open a GGUF file…",
    drop_hint: "or drop one on the page (Llama 2 and 3, TinyLlama, Mistral, SmolLM, Qwen2 and 3, Gemma 2 and 3 families).",
    load_failed: "Could not load this file",
    still_loaded: "the model loaded before is still there",
    gpu_kernels: "f32, WGSL kernels",
    cpu_engine: "CPU (WebAssembly SIMD, 8-bit activations)",
    cpu_engine_relaxed: "CPU (WebAssembly relaxed SIMD, 8-bit activations)",
    on_cores: "on {n} cores",
    on_one_core: "on 1 core",
    one_core_only: "the browser reports no other",
    one_core_not_isolated: "the page is not cross-origin isolated, so its workers cannot share memory",
    one_core_no_relaxed: "the engine's build with threads needs relaxed SIMD, which this browser lacks",
    one_core_no_wait_async: "the engine's build with threads needs Atomics.waitAsync, which this browser lacks",
    one_core_failed: "the engine's build with threads did not start here",
    software_gpu: "the GPU found is a software one, slower than the CPU",
    problem: "Problem",
    tab_chat: "Chat & attention",
    tab_lab: "Autoencoder lab",
};

/// French.
pub static FR: Texts = Texts {
    tagline: "Un transformeur transparent. Il tourne sur votre machine ; rien n’en sort.",
    language: "Langue",
    theme: "Thème",
    theme_auto: "Auto",
    theme_light: "Clair",
    theme_dark: "Sombre",
    projector: "Projecteur",
    projector_hint: "Texte plus grand et traits plus épais, pour une salle",
    letters: [
        ("T", "Transformeur", "Le texte devient des tokens, les tokens des vecteurs, et l’attention choisit quels mots précédents comptent."),
        ("G", "Génératif", "Compresser, reconstruire, prédire le mot suivant : c’est ainsi qu’un modèle crée du neuf."),
        ("P", "Pré-entraîné", "Les mêmes idées simples, répétées sur des quantités immenses de texte."),
        ("Chat", "Conversation", "Modèle de dialogue, tirage au sort et préférences font d’un prédicteur de texte un assistant, qui peut encore se tromper."),
    ],

    chat: "Discussion",
    you: "Vous",
    model: "Modèle",
    placeholder: "Posez une question… (Entrée envoie, Maj+Entrée pour aller à la ligne, Échap arrête)",
    send: "Envoyer",
    stop: "Arrêter",
    new_conversation: "Nouvelle discussion",
    conversations: "Discussions gardées sur cet appareil",
    untitled: "Nouvelle discussion",
    delete: "Supprimer",
    delete_hint: "Oublier cette discussion (elle n’est gardée que dans ce navigateur)",
    edit: "Modifier",
    resend: "Renvoyer",
    cancel: "Annuler",
    regenerate: "Régénérer",
    export_markdown: "Exporter en Markdown",
    export_json: "Exporter en JSON",
    empty_chat: "Demandez ce que vous voulez. Le modèle est petit (135 millions de paramètres) : il écrit avec aisance et se trompe souvent. Regardez son degré de certitude, token par token.",
    shortcuts: "Entrée : envoyer · Échap : arrêter",
    stopped: "Arrêté.",
    kept_here: "Les discussions ne sont gardées que dans ce navigateur.",

    settings: "Réglages",
    system_prompt: "Consigne système",
    system_prompt_hint: "Ce que le modèle lit avant la discussion (vide : la consigne par défaut du modèle).",
    temperature: "Température",
    temperature_hint: "0 prend toujours le token le plus probable ; plus haut, il prend plus de risques.",
    top_k: "Top-k",
    top_k_hint: "Choisir seulement parmi les k tokens les plus probables (0 : sans limite).",
    top_p: "Top-p",
    top_p_hint: "Choisir parmi les tokens les plus probables dont la somme des probabilités atteint p (1 : sans limite).",
    max_tokens: "Tokens au plus",
    max_tokens_hint: "La réponse s’arrête après ce nombre de tokens.",
    seed: "Graine",
    seed_hint: "Même graine et mêmes réglages donnent la même réponse ; Régénérer essaie la graine suivante.",
    trace: "Enregistrer l’attention",
    trace_hint: "Garder l’attention de chaque couche et de chaque tête pour l’explorateur (un peu plus lent).",
    reset: "Par défaut",

    tokens: "Tokens",
    tokens_intro: "Ce que le modèle lit (en gris : la consigne, modèle de dialogue compris) et ce qu’il écrit, coloré selon sa certitude. Cliquez sur un token.",
    tokens_empty: "Posez une question pour voir les tokens.",
    sure: "sûr",
    unsure: "hésitant",
    prompt_token: "Fait partie de la consigne : le modèle a lu ce token, il ne l’a pas choisi.",
    chosen_with: "choisi avec une probabilité de",
    alternatives: "Ce qu’il aurait pu écrire à la place",

    attention: "Attention",
    attention_intro: "Pour chaque token, chaque tête de chaque couche répartit un poids total de 1 sur les tokens précédents : ce qu’elle « regarde » pour prédire la suite.",
    attention_empty: "Posez une question : l’attention est enregistrée pendant que le modèle répond.",
    attention_off: "L’enregistrement de l’attention est coupé (voir Réglages).",
    layer: "Couche",
    head: "Tête",
    mean_of_heads: "Moyenne des têtes",
    hide_sink: "Masquer le premier token et renormaliser",
    matrix_view: "Matrice",
    lines_view: "Liens",
    follow: "Suivre le dernier token",
    play: "Rejouer",
    export_png: "PNG",
    export_svg: "SVG",
    grid_hint: "Toutes les couches (lignes) et têtes (colonnes). Survolez pour prévisualiser, cliquez pour choisir.",
    matrix_hint: "Lignes : le token qui lit ; colonnes : les tokens qu’il regarde. En gris : le futur, qu’il ne voit pas.",
    lines_hint: "À gauche : le token choisi ; à droite : les tokens qu’il regarde. Plus le trait est foncé, plus le poids est grand.",
    not_read_yet: "Le modèle n’a pas encore lu le dernier token : son attention apparaît quand il lui est redonné.",
    untraced: "non enregistré",

    machine: "Cette machine",
    engine_runs_on: "Le moteur tourne sur",
    decided_later: "choisi une fois le modèle chargé",
    gpu_found: "Carte graphique",
    looking_for_gpu: "recherche d’une carte graphique…",
    engine_silent: "Le moteur n’a pas démarré au bout de 20 secondes. Sur un réseau lent, son code arrive peut-être encore : patientez, ou relancez-le.",
    engine_restart: "Relancer le moteur",
    model_label: "Modèle",
    loading: "chargement…",
    open_gguf: "Ouvrir un fichier GGUF…",
    drop_hint: "ou déposez-en un sur la page (familles Llama 2 et 3, TinyLlama, Mistral, SmolLM, Qwen2 et 3, Gemma 2 et 3).",
    load_failed: "Impossible de charger ce fichier",
    still_loaded: "le modèle chargé avant est toujours là",
    gpu_kernels: "f32, noyaux WGSL",
    cpu_engine: "processeur (WebAssembly SIMD, activations sur 8 bits)",
    cpu_engine_relaxed: "processeur (WebAssembly relaxed SIMD, activations sur 8 bits)",
    on_cores: "sur {n} cœurs",
    on_one_core: "sur 1 cœur",
    one_core_only: "le navigateur n'en signale pas d'autre",
    one_core_not_isolated: "la page n'est pas isolée (cross-origin isolation), ses workers ne peuvent donc pas partager la mémoire",
    one_core_no_relaxed: "la version multicœur du moteur demande le relaxed SIMD, que ce navigateur n'a pas",
    one_core_no_wait_async: "la version multicœur du moteur demande Atomics.waitAsync, que ce navigateur n'a pas",
    one_core_failed: "la version multicœur du moteur n'a pas démarré ici",
    software_gpu: "la carte graphique trouvée est logicielle, plus lente que le processeur",
    problem: "Problème",
    tab_chat: "Discussion et attention",
    tab_lab: "Labo d’autoencodeur",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_language_tags_pick_french_or_english() {
        assert_eq!(Lang::from_tag("fr-CA"), Lang::Fr);
        assert_eq!(Lang::from_tag("FR"), Lang::Fr);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag("de"), Lang::En);
    }
}
