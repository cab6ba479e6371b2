//! The words of the hallucination lab, in English and French.

use super::Lang;

/// Every fixed text of the hallucination lab.
#[derive(Debug)]
pub struct DoubtTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    /// `(label, question)`: a question that invites a confident falsehood.
    pub presets: [(&'static str, &'static str); 3],
    pub question: &'static str,
    pub ask: &'static str,
    pub temperature: &'static str,
    pub seed: &'static str,
    pub track_hint: &'static str,
    pub disagree_hint: &'static str,
    pub moral: &'static str,
    pub waiting: &'static str,
}

impl Lang {
    /// The hallucination lab's texts.
    pub fn dt(self) -> &'static DoubtTexts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }

    /// "Answer 2 · seed 8".
    pub fn answer_title(self, n: usize, seed: u64) -> String {
        match self {
            Self::En => format!("Answer {n} · seed {seed}"),
            Self::Fr => format!("Réponse {n} · graine {seed}"),
        }
    }

    /// How sure an answer was: its mean probability and its least likely token.
    pub fn confidence(self, mean: f32, token: &str, lowest: f32) -> String {
        let (m, l) = (self.num(f64::from(mean), 2), self.num(f64::from(lowest), 2));
        match self {
            Self::En => format!("Mean probability {m}; least sure at \u{201c}{token}\u{201d} ({l})."),
            Self::Fr => format!("Probabilité moyenne {m} ; le moins sûr à « {token} » ({l})."),
        }
    }

    /// How many of the facts the answers state not every answer gives.
    pub fn disagreements(self, differ: usize, total: usize) -> String {
        match self {
            Self::En => format!("{differ} of the {total} names and numbers are not in every answer."),
            Self::Fr => format!("{differ} des {total} noms et nombres ne sont pas dans toutes les réponses."),
        }
    }
}

pub static EN: DoubtTexts = DoubtTexts {
    tab: "True or plausible?",
    title: "Plausible is not true",
    intro: "The model writes what is likely to come next, one token at a time. It learned which words follow which, not which facts are true: asked about something it never read, it does not say \u{201c}I don't know\u{201d}; it writes an answer that looks right. Ask the same question three times, with three seeds, and compare.",
    presets: [
        ("An invented person", "Who was Margaret Thornbury, the British astronomer who discovered a comet in 1887?"),
        ("A quotation", "Give a famous quotation by Marie Curie about the sea, with its exact source."),
        ("An impossible date", "In which year was the Eiffel Tower moved to Lyon?"),
    ],
    question: "A question",
    ask: "Ask three times",
    temperature: "Temperature",
    seed: "First seed",
    track_hint: "Under each answer, one bar per token: its height is the probability of the token written. The line is the entropy: how spread out the choice was (at the bottom, no hesitation).",
    disagree_hint: "Highlighted: the names, numbers and dates that not every answer gives. Where the answers disagree on a fact, the model is making it up.",
    moral: "A fluent answer can be confident and false: the probabilities say how usual the words are, not whether they are true. Check facts somewhere else, and notice that a model asked three times tells three stories.",
    waiting: "The three answers are written one after the other.",
};

pub static FR: DoubtTexts = DoubtTexts {
    tab: "Vrai ou plausible ?",
    title: "Plausible n’est pas vrai",
    intro: "Le modèle écrit ce qui a le plus de chances de venir ensuite, un token après l’autre. Il a appris quels mots suivent quels mots, pas quels faits sont vrais : interrogé sur ce qu’il n’a jamais lu, il ne répond pas « je ne sais pas » ; il écrit une réponse qui en a l’air. Posez la même question trois fois, avec trois graines, et comparez. Les exemples sont en anglais, la langue que ce petit modèle a le plus lue : en français, il écrit mal.",
    presets: [
        ("Une personne inventée", "Who was Jeanne Moreau-Villeneuve, the French physicist who discovered a comet in 1887?"),
        ("Une citation", "Give a famous quotation by Marie Curie about the sea, with its exact source."),
        ("Une date impossible", "In which year was the Eiffel Tower moved to Lyon?"),
    ],
    question: "Une question",
    ask: "Demander trois fois",
    temperature: "Température",
    seed: "Première graine",
    track_hint: "Sous chaque réponse, une barre par token : sa hauteur est la probabilité du token écrit. La ligne est l’entropie : la dispersion du choix (tout en bas, aucune hésitation).",
    disagree_hint: "Surlignés : les noms, nombres et dates que les trois réponses ne donnent pas toutes. Là où elles divergent sur un fait, le modèle l’invente.",
    moral: "Une réponse fluide peut être sûre d’elle et fausse : les probabilités disent si les mots sont habituels, pas s’ils sont vrais. Vérifiez ailleurs, et remarquez qu’un modèle interrogé trois fois raconte trois histoires.",
    waiting: "Les trois réponses s’écrivent l’une après l’autre.",
};
