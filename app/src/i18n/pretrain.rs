//! The words of the pre-training lab, in English and French.

use engine::train::pretrain::CorpusError;

use super::Lang;
use crate::pretrain::Refusal;
use crate::state::TinyModel;

/// Every fixed text of the pre-training lab.
#[derive(Debug)]
pub struct PretrainTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub text: &'static str,
    pub sonnets: &'static str,
    pub histoires: &'static str,
    pub la_fontaine: &'static str,
    pub own: &'static str,
    pub own_placeholder: &'static str,
    pub layers: &'static str,
    pub width: &'static str,
    pub heads: &'static str,
    pub context: &'static str,
    pub start: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub save: &'static str,
    pub open: &'static str,
    pub curves: &'static str,
    pub legend_held_out: &'static str,
    pub legend_train: &'static str,
    pub legend_letters: &'static str,
    pub curves_hint: &'static str,
    pub samples: &'static str,
    pub prompt: &'static str,
    pub temperature: &'static str,
    pub write: &'static str,
    pub next: &'static str,
    pub next_hint: &'static str,
    pub play: &'static str,
    pub play_start: &'static str,
    pub player: &'static str,
    pub player_model: &'static str,
    pub player_note: &'static str,
    pub attention: &'static str,
    pub attention_hint: &'static str,
    pub layer: &'static str,
    pub head: &'static str,
    pub scale: &'static str,
    pub this_model: &'static str,
    pub parameters: &'static str,
    pub tokens_read: &'static str,
    pub compute: &'static str,
    pub scale_note: &'static str,
    pub where_it_runs: &'static str,
    pub loaded: &'static str,
    pub waiting: &'static str,
}

impl Lang {
    /// The pre-training lab's texts.
    pub fn rt(self) -> &'static PretrainTexts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }

    /// Where the tiny GPT trains: "on WebGPU (adapter)", "on the CPU (2 cores)", "on the CPU".
    pub fn trains_on(self, gpu: Option<&str>, cores: usize) -> String {
        match (self, gpu) {
            (Self::En, Some(a)) => format!("on WebGPU ({a})"),
            (Self::Fr, Some(a)) => format!("sur WebGPU ({a})"),
            (_, None) => self.on_cpu(cores),
        }
    }

    /// "Step 250 · 256,000 characters read · held-out loss 2.41 (letters alone 3.14) · 4,100 characters/s
    /// on the CPU" (`on`: [`Lang::trains_on`]).
    pub fn pretrain_status(
        self,
        step: usize,
        tokens: u64,
        held_out: Option<f32>,
        letters: Option<f64>,
        speed: f32,
        on: &str,
    ) -> String {
        let loss = |v: f64| self.num(v, 2);
        let held = held_out.map(|h| loss(f64::from(h))).unwrap_or_else(|| "…".into());
        let speed = self.num(f64::from(speed), 0);
        let tokens = crate::components::in_words(self, tokens as f64);
        match (self, letters) {
            (Self::En, Some(u)) => format!("Step {step} · {tokens} characters read · held-out loss {held} (letter frequencies alone: {}) · {speed} characters/s {on}", loss(u)),
            (Self::En, None) => format!("Step {step} · held-out loss {held}"),
            (Self::Fr, Some(u)) => format!("Étape {step} · {tokens} caractères lus · erreur sur le texte mis de côté {held} (fréquence des lettres seule : {}) · {speed} caractères/s {on}", loss(u)),
            (Self::Fr, None) => format!("Étape {step} · erreur {held}"),
        }
    }

    /// "108,160 parameters · 62 different characters · 86,080 characters to learn from, 9,564 held out · 14 MB".
    pub fn pretrain_model(self, parameters: usize, vocab: usize, chars: (usize, usize), memory: usize) -> String {
        let n = |x: usize| self.int(x as u64);
        let mb = self.num(memory as f64 / 1e6, 0);
        match self {
            Self::En => format!("{} parameters · {} different characters · {} characters to learn from, {} held out · about {mb} MB", n(parameters), n(vocab), n(chars.0), n(chars.1)),
            Self::Fr => format!("{} paramètres · {} caractères différents · {} caractères pour apprendre, {} mis de côté · environ {mb} Mo", n(parameters), n(vocab), n(chars.0), n(chars.1)),
        }
    }

    /// The game's choice for the tiny model: "The little GPT (1,250 steps of training)".
    pub fn player_tiny(self, model: Option<TinyModel>) -> String {
        let steps = match model {
            Some(TinyModel::Trained(steps)) => steps,
            _ => {
                return match self {
                    Self::En => "The little GPT (a saved model)".to_owned(),
                    Self::Fr => "Le petit GPT (un modèle enregistré)".to_owned(),
                }
            }
        };
        let n = self.int(steps as u64);
        match (self, steps) {
            (Self::En, 1) => "The little GPT (1 step of training)".to_owned(),
            (Self::En, _) => format!("The little GPT ({n} steps of training)"),
            (Self::Fr, 0 | 1) => format!("Le petit GPT ({n} étape d’entraînement)"),
            (Self::Fr, _) => format!("Le petit GPT ({n} étapes d’entraînement)"),
        }
    }

    /// "after 250 steps".
    pub fn after_steps(self, step: usize) -> String {
        match self {
            Self::En => format!("after {step} steps"),
            Self::Fr => format!("après {step} étapes"),
        }
    }

    /// Why a setup or a file was refused, in one line.
    pub fn refusal(self, why: &Refusal) -> String {
        let fr = self == Self::Fr;
        match why {
            Refusal::Corpus(CorpusError::Empty) => if fr { "Le texte est vide." } else { "The text is empty." }.into(),
            Refusal::Corpus(CorpusError::TooShort { chars, needed }) => {
                if fr {
                    format!("Le texte n’a que {chars} caractères : il en faut au moins {needed} pour apprendre et en garder un dixième de côté.")
                } else {
                    format!("The text has only {chars} characters: at least {needed} are needed to learn and hold a tenth out.")
                }
            }
            Refusal::Corpus(CorpusError::ContextTooLong { context, held_out }) => {
                if fr {
                    format!("Un contexte de {context} caractères ne tient pas dans le dixième mis de côté ({held_out}) : réduisez le contexte ou allongez le texte.")
                } else {
                    format!("A context of {context} characters does not fit in the held-out tenth ({held_out}): shorten the context or lengthen the text.")
                }
            }
            Refusal::Corpus(CorpusError::TooManyCharacters { distinct }) => {
                if fr {
                    format!(
                        "Le texte utilise {distinct} caractères différents ; ce petit modèle en accepte au plus {}.",
                        engine::train::pretrain::MAX_VOCAB
                    )
                } else {
                    format!(
                        "The text uses {distinct} different characters; this little model takes at most {}.",
                        engine::train::pretrain::MAX_VOCAB
                    )
                }
            }
            Refusal::Corpus(CorpusError::Sizes(what)) => what.clone(),
            Refusal::Memory(bytes) => {
                let mb = self.num(*bytes as f64 / 1e6, 0);
                if fr {
                    format!("Ce modèle demanderait environ {mb} Mo pendant l’entraînement : trop pour ce navigateur. Réduisez sa taille.")
                } else {
                    format!("This model would need about {mb} MB while training: too much for this browser. Make it smaller.")
                }
            }
            Refusal::File(why) => {
                if fr {
                    format!("Ce fichier ne peut pas être ouvert : {why}.")
                } else {
                    format!("This file cannot be opened: {why}.")
                }
            }
        }
    }
}

static EN: PretrainTexts = PretrainTexts {
    tab: "Pre-training",
    title: "A tiny GPT learns to write",
    intro: "This little GPT starts from random numbers. Step after step it reads passages of the text, guesses each next character, measures how wrong it was and adjusts its parameters a little. Nobody tells it what a word is: watch the samples below go from noise to words. The big models were trained exactly like this, on trillions of words.",
    text: "Text",
    sonnets: "Shakespeare’s sonnets (English, 96 kB)",
    histoires: "Little stories (French, 12 kB)",
    la_fontaine: "La Fontaine, lines quoted in Littré’s dictionary (French, 532 kB)",
    own: "My own text",
    own_placeholder: "Paste a text of at least 1,000 characters: the model will learn to write like it.",
    layers: "Blocks",
    width: "Width",
    heads: "Heads",
    context: "Context",
    start: "Start over",
    pause: "Pause",
    resume: "Resume",
    save: "Save the model",
    open: "Open a saved model",
    curves: "Error as it learns (nats per character)",
    legend_held_out: "held-out text",
    legend_train: "training passages",
    legend_letters: "letter frequencies alone",
    curves_hint: "Below the grey line, the model knows more than how often each letter comes: it has learned which letters follow which.",
    samples: "What it writes",
    prompt: "Beginning",
    temperature: "Temperature",
    write: "Write",
    next: "The next letter, as the model sees it",
    next_hint: "Click one to add it to the beginning: the next-word game, one character at a time (␣ is a space, ↵ a new line).",
    play: "Play the next-word game with this model",
    play_start: "Once upon a time",
    player: "Who plays",
    player_model: "The language model",
    player_note: "The little GPT of the pre-training tab plays, as it is now: its tokens are single characters, and it knows only the text it learned from. Play it against the language model on the same text: same game, same rules, a few thousand times fewer parameters.",
    attention: "Where each head looks",
    attention_hint: "The last passage it read while writing: each row is a character, its colour shows which earlier characters that head looked at.",
    layer: "Block",
    head: "Head",
    scale: "The same recipe, at three scales",
    this_model: "This little GPT",
    parameters: "Parameters",
    tokens_read: "Tokens read (here: characters)",
    compute: "Computation (operations)",
    scale_note: "Operations estimated as 6 × parameters per token read, the usual rule; GPT-3’s figure is its paper’s.",
    where_it_runs: "It trains on this computer (on its graphics card when it has one, else on its processor), in a worker of its own: nothing is sent anywhere.",
    waiting: "Training starts as soon as the language model has loaded, so the two do not share the processor while it loads.",
    loaded: "A saved model: it writes, but its text is not in the file, so it cannot go on learning.",
};

static FR: PretrainTexts = PretrainTexts {
    tab: "Pré-entraînement",
    title: "Un tout petit GPT apprend à écrire",
    intro: "Ce petit GPT part de nombres tirés au hasard. Étape après étape, il lit des passages du texte, devine chaque caractère suivant, mesure son erreur et ajuste un peu ses paramètres. Personne ne lui dit ce qu’est un mot : regardez ses essais passer du bruit aux mots. Les grands modèles ont été entraînés exactement ainsi, sur des milliers de milliards de mots.",
    text: "Texte",
    sonnets: "Les sonnets de Shakespeare (anglais, 96 ko)",
    histoires: "Petites histoires (français, 12 ko)",
    la_fontaine: "La Fontaine, vers cités par le dictionnaire de Littré (français, 532 ko)",
    own: "Mon texte",
    own_placeholder: "Collez un texte d’au moins 1 000 caractères : le modèle apprendra à écrire comme lui.",
    layers: "Blocs",
    width: "Largeur",
    heads: "Têtes",
    context: "Contexte",
    start: "Recommencer",
    pause: "Pause",
    resume: "Reprendre",
    save: "Enregistrer le modèle",
    open: "Ouvrir un modèle enregistré",
    curves: "L’erreur pendant l’apprentissage (nats par caractère)",
    legend_held_out: "texte mis de côté",
    legend_train: "passages d’entraînement",
    legend_letters: "fréquence des lettres seule",
    curves_hint: "Sous la ligne grise, le modèle en sait plus que la fréquence de chaque lettre : il a appris quelles lettres en suivent d’autres.",
    samples: "Ce qu’il écrit",
    prompt: "Début",
    temperature: "Température",
    write: "Écrire",
    next: "La lettre suivante, selon le modèle",
    next_hint: "Cliquez-en une pour l’ajouter au début : le jeu du mot suivant, un caractère à la fois (␣ est une espace, ↵ un retour à la ligne).",
    play: "Jouer au mot suivant avec ce modèle",
    play_start: "Il était une fois",
    player: "Qui joue",
    player_model: "Le modèle de langue",
    player_note: "Le petit GPT de l’onglet Pré-entraînement joue, tel qu’il est maintenant : ses tokens sont des caractères, et il ne connaît que le texte où il a appris. Comparez-le au modèle de langue sur le même texte : même jeu, mêmes règles, quelques milliers de fois moins de paramètres.",
    attention: "Où regarde chaque tête",
    attention_hint: "Le dernier passage lu en écrivant : chaque ligne est un caractère, sa couleur montre les caractères précédents que cette tête a regardés.",
    layer: "Bloc",
    head: "Tête",
    scale: "La même recette, à trois échelles",
    this_model: "Ce petit GPT",
    parameters: "Paramètres",
    tokens_read: "Tokens lus (ici : des caractères)",
    compute: "Calcul (opérations)",
    scale_note: "Opérations estimées à 6 × paramètres par token lu, la règle habituelle ; le chiffre de GPT-3 est celui de son article.",
    where_it_runs: "Il s’entraîne sur cet ordinateur (sur sa carte graphique s’il en a une, sinon sur son processeur), dans un worker à lui : rien n’est envoyé nulle part.",
    waiting: "L’entraînement commence dès que le modèle de langue est chargé, pour que les deux ne se partagent pas le processeur pendant son chargement.",
    loaded: "Un modèle enregistré : il écrit, mais son texte n’est pas dans le fichier, il ne peut donc pas continuer d’apprendre.",
};
