//! The words of the *Thoughts* view (the sparse autoencoder on the model's hidden states), in French and
//! English.

use super::Lang;
use crate::thoughts::{SaeProgress, Way};

/// Every fixed text of the view.
#[derive(Debug)]
pub struct ThoughtsTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub step_collect: &'static str,
    pub layer: &'static str,
    pub text: &'static str,
    pub built_in: &'static str,
    pub own: &'static str,
    pub own_placeholder: &'static str,
    pub collect: &'static str,
    pub collect_hint: &'static str,
    pub step_train: &'static str,
    pub width: &'static str,
    pub k: &'static str,
    pub train: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub save: &'static str,
    pub keep: &'static str,
    pub open: &'static str,
    pub curves: &'static str,
    pub legend_train: &'static str,
    pub legend_held_out: &'static str,
    pub curves_hint: &'static str,
    pub step_write: &'static str,
    pub prompt: &'static str,
    pub prompt_default: &'static str,
    pub write: &'static str,
    pub plain: &'static str,
    pub squeezed: &'static str,
    pub mean: &'static str,
    pub steered: &'static str,
    pub write_hint: &'static str,
    pub reading: &'static str,
    pub reading_hint: &'static str,
    pub step_features: &'static str,
    pub feature: &'static str,
    pub show: &'static str,
    pub card_hint: &'static str,
    pub strength: &'static str,
    pub steer: &'static str,
    pub steer_hint: &'static str,
    pub image_lab: &'static str,
    pub waiting: &'static str,
}

const FR: ThoughtsTexts = ThoughtsTexts {
    tab: "Pensées",
    title: "Les pensées du modèle, passées dans un autoencodeur",
    intro: "À chaque mot qu’il lit, le modèle fait passer de couche en couche une liste de 576 nombres : \
            c’est ce qu’il « pense » à cet endroit du texte. Un autoencodeur creux apprend à résumer cette \
            liste par quelques caractéristiques choisies parmi des milliers, puis à la reconstruire. Si le \
            résumé est bon, le modèle peut continuer à écrire avec la reconstruction à la place de sa propre \
            pensée. C’est l’outil avec lequel la recherche essaie de lire ce que calcule un modèle ; ici, il \
            s’entraîne dans votre onglet, sans serveur.",
    step_collect: "1. Lire un texte et garder les pensées d’une couche",
    layer: "Couche",
    text: "Texte",
    built_in: "Histoires en français et sonnets en anglais (intégrés)",
    own: "Mon texte",
    own_placeholder: "Collez ici un texte de quelques paragraphes…",
    collect: "Lire",
    collect_hint: "Le modèle lit le texte par passages de 64 mots-morceaux et garde, pour chacun, le vecteur \
                   qui sort de la couche choisie (un passage sur dix est mis de côté pour vérifier). Au plus \
                   16 384 vecteurs sont gardés (38 Mo).",
    step_train: "2. Entraîner l’autoencodeur",
    width: "Caractéristiques (× la largeur du modèle)",
    k: "Allumées par mot",
    train: "Entraîner",
    pause: "Pause",
    resume: "Reprendre",
    save: "Enregistrer le fichier",
    keep: "Garder dans ce navigateur",
    open: "Ouvrir un fichier…",
    curves: "Part de la pensée perdue par la reconstruction",
    legend_train: "vecteurs d’entraînement",
    legend_held_out: "vecteurs mis de côté",
    curves_hint: "1 : la reconstruction ne garde rien ; 0 : elle garde tout. Chaque vecteur n’a droit qu’à \
                  quelques caractéristiques allumées : il faut choisir les bonnes.",
    step_write: "3. Laisser le modèle écrire avec la pensée serrée",
    prompt: "Début du texte",
    prompt_default: "Il était une fois, au bord de la mer,",
    write: "Écrire",
    plain: "Le modèle tel quel",
    squeezed: "Couche remplacée par sa reconstruction",
    mean: "Couche remplacée par la pensée moyenne (le plancher)",
    steered: "Avec la caractéristique ajoutée",
    write_hint: "Chaque mot est coloré selon l’écart entre ce que le modèle prévoyait tel quel et ce qu’il prévoit \
                 avec la couche remplacée (divergence KL, en nats) ; un mot souligné est un mot que le modèle tel \
                 quel n’aurait pas choisi. La pensée moyenne efface tout ce que la couche savait : c’est le pire \
                 qu’on puisse faire.",
    reading: "Le texte du modèle, mot par mot, dans l’autoencodeur",
    reading_hint: "Sous chaque mot : la part perdue par la reconstruction et ses caractéristiques les plus fortes. \
                   Cliquez sur une caractéristique pour voir où elle s’allume.",
    step_features: "4. Une caractéristique",
    feature: "Caractéristique n°",
    show: "Voir",
    card_hint: "Les mots du texte lu qui l’allument le plus, avec ce qui les précède.",
    strength: "Force",
    steer: "Écrire en l’ajoutant",
    steer_hint: "On ajoute la direction de cette caractéristique à la pensée de la couche, à chaque mot, pendant que \
                 le modèle écrit : le texte penche vers ce qu’elle représente. Trop fort, il déraille.",
    image_lab: "C’est l’histoire du laboratoire des images, rejouée sur les pensées du modèle : moins de \
                caractéristiques, c’est un résumé plus court, qui perd davantage.",
    waiting: "Le modèle de langue se charge ; ce laboratoire en a besoin.",
};

const EN: ThoughtsTexts = ThoughtsTexts {
    tab: "Thoughts",
    title: "The model's thoughts, through an autoencoder",
    intro: "For every word it reads, the model passes a list of 576 numbers from layer to layer: what it \
            \"thinks\" at that point of the text. A sparse autoencoder learns to sum that list up with a few \
            features chosen among thousands, then to rebuild it. If the summary is good, the model can go on \
            writing with the rebuilt list in place of its own thought. Research uses this tool to read what a \
            model computes; here it trains in your tab, with no server.",
    step_collect: "1. Read a text and keep one layer's thoughts",
    layer: "Layer",
    text: "Text",
    built_in: "Stories in French and sonnets in English (built in)",
    own: "My text",
    own_placeholder: "Paste a text of a few paragraphs here…",
    collect: "Read",
    collect_hint: "The model reads the text in passages of 64 tokens and keeps, for each token, the vector that \
                   leaves the chosen layer (one passage in ten is held out to check). At most 16,384 vectors are \
                   kept (38 MB).",
    step_train: "2. Train the autoencoder",
    width: "Features (× the model's width)",
    k: "On per word",
    train: "Train",
    pause: "Pause",
    resume: "Resume",
    save: "Save the file",
    keep: "Keep in this browser",
    open: "Open a file…",
    curves: "Share of the thought lost by the reconstruction",
    legend_train: "training vectors",
    legend_held_out: "held-out vectors",
    curves_hint: "1: the reconstruction keeps nothing; 0: it keeps everything. Each vector may light only a few \
                  features: the right ones must be chosen.",
    step_write: "3. Let the model write with its thought squeezed",
    prompt: "Beginning",
    prompt_default: "Once upon a time, by the sea,",
    write: "Write",
    plain: "The model as it is",
    squeezed: "Layer replaced by its reconstruction",
    mean: "Layer replaced by the mean thought (the floor)",
    steered: "With the feature added",
    write_hint: "Each word is coloured by how far the model's prediction moved from the model as it is when the \
                 layer is replaced (KL divergence, in nats); an underlined word is one the model as it is would \
                 not have chosen. The mean thought wipes out all the layer knew: the worst one can do.",
    reading: "The model's text, token by token, through the autoencoder",
    reading_hint: "Under each token: the share lost by the reconstruction and its strongest features. Click a \
                   feature to see where it lights up.",
    step_features: "4. One feature",
    feature: "Feature #",
    show: "Show",
    card_hint: "The tokens of the text read that light it most, with what comes before them.",
    strength: "Strength",
    steer: "Write with it added",
    steer_hint: "The feature's direction is added to the layer's thought at every token while the model writes: \
                 the text leans towards what it stands for. Too strong, and the text derails.",
    image_lab: "It is the image lab's story again, on the model's own thoughts: fewer features make a shorter \
                summary, which loses more.",
    waiting: "The language model is loading; this lab needs it.",
};

impl Lang {
    /// The *Thoughts* view's texts.
    pub fn ht(self) -> &'static ThoughtsTexts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }

    /// An answer's heading.
    pub fn way(self, way: Way) -> &'static str {
        let t = self.ht();
        match way {
            Way::Plain => t.plain,
            Way::Squeezed => t.squeezed,
            Way::Mean => t.mean,
            Way::Steered => t.steered,
        }
    }

    /// "5,120 vectors from layer 10 (+ 576 held out) · 13 MB · 410 tokens/s".
    pub fn thoughts_collected(
        self,
        layer: usize,
        vectors: usize,
        held_out: usize,
        bytes: usize,
        speed: f32,
        done: bool,
    ) -> String {
        let n = |x: usize| self.int(x as u64);
        let mb = self.num(bytes as f64 / 1e6, 0);
        let speed = self.num(f64::from(speed), 0);
        let more = if done { "" } else { " …" };
        match self {
            Self::En => format!(
                "{} vectors after layer {layer} (+ {} held out) · {mb} MB · {speed} tokens/s{more}",
                n(vectors),
                n(held_out)
            ),
            Self::Fr => format!(
                "{} vecteurs après la couche {layer} (+ {} mis de côté) · {mb} Mo · {speed} mots-morceaux/s{more}",
                n(vectors),
                n(held_out)
            ),
        }
    }

    /// "Step 400 · lost: 0.31 (held out 0.36) · 32 features on per word · 12 dead · 850 vectors/s".
    pub fn thoughts_status(self, p: &SaeProgress, fvu: f32, held: Option<f32>, active: f32) -> String {
        let f = |v: f32| self.num(f64::from(v), 2);
        let held = held.map(f).unwrap_or_else(|| "…".into());
        let (active, speed) = (self.num(f64::from(active), 0), self.num(f64::from(p.vectors_per_s), 0));
        let (step, dead) = (p.step, p.dead);
        let on = match (self, p.on_gpu) {
            (Self::En, true) => "on the GPU",
            (Self::En, false) => "on the CPU",
            (Self::Fr, true) => "sur la carte graphique",
            (Self::Fr, false) => "sur le processeur",
        };
        match self {
            Self::En => format!("Step {step} · lost: {} (held out {held}) · {active} features on per token · {dead} dead · {speed} vectors/s {on}", f(fvu)),
            Self::Fr => format!("Étape {step} · perdu : {} (mis de côté {held}) · {active} caractéristiques allumées par mot · {dead} mortes · {speed} vecteurs/s {on}", f(fvu)),
        }
    }

    /// "4,608 features, 32 on per token, after layer 10 (opened from a file)".
    pub fn thoughts_ready(self, layer: usize, width: usize, k: usize, loaded: bool) -> String {
        let w = self.int(width as u64);
        match (self, loaded) {
            (Self::En, false) => format!("{w} features, {k} on per token, after layer {layer}"),
            (Self::En, true) => format!("{w} features, {k} on per token, after layer {layer} (opened from a file)"),
            (Self::Fr, false) => format!("{w} caractéristiques, {k} allumées par mot, après la couche {layer}"),
            (Self::Fr, true) => format!(
                "{w} caractéristiques, {k} allumées par mot, après la couche {layer} (ouvert depuis un fichier)"
            ),
        }
    }

    /// "Open the one kept on 30/11 at 14:05 (21 MB)".
    pub fn thoughts_kept(self, bytes: usize, when_ms: f64) -> String {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(when_ms));
        let (day, month, hour, minute) = (date.get_date(), date.get_month() + 1, date.get_hours(), date.get_minutes());
        let mb = self.num(bytes as f64 / 1e6, 0);
        match self {
            Self::En => format!("Open the one kept on {month}/{day} at {hour}:{minute:02} ({mb} MB)"),
            Self::Fr => format!("Ouvrir celui gardé le {day}/{month} à {hour} h {minute:02} ({mb} Mo)"),
        }
    }

    /// "mean KL 0.42 nats · 3 of 24 tokens differ".
    pub fn thoughts_summary(self, kl: f32, changed: usize, n: usize) -> String {
        let kl = self.num(f64::from(kl), 2);
        match self {
            Self::En => format!("mean KL {kl} nats · {changed} of {n} tokens differ"),
            Self::Fr => format!("KL moyenne {kl} nats · {changed} mots sur {n} diffèrent"),
        }
    }

    /// A worker's refusal, in this language when it is one the page knows.
    pub fn thoughts_refusal(self, why: &str) -> String {
        if self == Self::En {
            return why.to_owned();
        }
        let known = [
            (
                "collect the hidden states of a text at the autoencoder",
                "Lisez d’abord un texte à la couche de l’autoencodeur.",
            ),
            ("collect the hidden states", "Lisez d’abord un texte (étape 1)."),
            ("no autoencoder has been trained yet", "Aucun autoencodeur n’a encore été entraîné (étape 2)."),
            ("write a beginning", "Écrivez un début de texte pour que le modèle le continue."),
            ("the text is empty", "Le texte est vide."),
            ("not a Glassbox sparse-autoencoder file", "Ce fichier n’est pas un autoencodeur de Glassbox."),
        ];
        known
            .iter()
            .find(|(en, _)| why.starts_with(en))
            .map_or_else(|| format!("Impossible : {why}"), |(_, fr)| (*fr).to_owned())
    }
}
