//! The words of the preference game, in English and French.

use super::Lang;

/// Every fixed text of the preference game.
#[derive(Debug)]
pub struct PreferTexts {
    pub tab: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    /// `(label, question)`.
    pub presets: [(&'static str, &'static str); 3],
    pub question: &'static str,
    pub write_two: &'static str,
    pub better: &'static str,
    pub skip: &'static str,
    pub first_vote: &'static str,
    pub best_title: &'static str,
    pub best_hint: &'static str,
    pub best_button: &'static str,
    pub answers: &'static str,
    pub reward: &'static str,
    pub kept: &'static str,
    pub export: &'static str,
    pub forget: &'static str,
    pub real: &'static str,
}

impl Lang {
    /// The preference game's texts.
    pub fn pt(self) -> &'static PreferTexts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }

    /// "Answer A".
    pub fn answer_letter(self, i: usize) -> String {
        let letter = char::from(b'A' + (i % 26) as u8);
        match self {
            Self::En => format!("Answer {letter}"),
            Self::Fr => format!("Réponse {letter}"),
        }
    }

    /// How the reward model does on the votes it learned from and on those it never saw.
    pub fn reward_stats(self, votes: usize, train: (usize, Option<f64>), held: (usize, Option<f64>)) -> String {
        let right = |(n, acc): (usize, Option<f64>)| (acc.unwrap_or(0.0) * n as f64).round() as usize;
        let (tr, hr) = (right(train), right(held));
        match (self, held.0) {
            (Self::En, 0) => format!(
                "{votes} votes. The reward model agrees with {tr} of the {} votes it learned from; from the fourth vote on, every fourth one is kept aside to check it.",
                train.0
            ),
            (Self::Fr, 0) => format!(
                "{votes} votes. Le modèle de récompense est d’accord avec {tr} des {} votes dont il a appris ; à partir du quatrième, un vote sur quatre est mis de côté pour le vérifier.",
                train.0
            ),
            (Self::En, _) => format!(
                "{votes} votes. The reward model agrees with {tr} of the {} votes it learned from, and with {hr} of the {} it never saw.",
                train.0, held.0
            ),
            (Self::Fr, _) => format!(
                "{votes} votes. Le modèle de récompense est d’accord avec {tr} des {} votes dont il a appris, et avec {hr} des {} qu’il n’a jamais vus.",
                train.0, held.0
            ),
        }
    }
}

pub static EN: PreferTexts = PreferTexts {
    tab: "Preferences",
    title: "Which answer is better?",
    intro: "A chat model is not only trained to continue text. People then compare pairs of its answers, and a second model, the reward model, learns to predict which one they prefer. Here the class votes, and after every vote a small reward model is fitted again to the votes, on this device: a score on the model's own last hidden state, averaged over the answer.",
    presets: [
        ("Explain", "Explain to a child why the sky is blue."),
        ("Advice", "Give me one tip to sleep better."),
        ("A story", "Tell a very short story about a cat."),
    ],
    question: "A question",
    write_two: "Write two answers",
    better: "This one is better",
    skip: "Neither: a new pair",
    first_vote: "Vote at least once: the reward model learns from the votes.",
    best_title: "Best of n: the reward model chooses",
    best_hint: "The model writes several answers; the reward model scores each one and the best is kept. It is the simplest way to steer a chat model with human preferences without changing the model.",
    best_button: "Write and rank",
    answers: "answers",
    reward: "reward",
    kept: "The votes are kept in this browser only.",
    export: "Export the votes",
    forget: "Forget the votes",
    real: "Real systems go further. In RLHF, a reward model trained on hundreds of thousands of comparisons is used to tune the language model itself, so that it writes answers the reward model scores higher. DPO skips the reward model and tunes the language model straight from the pairs. Here the model never changes: only the choice among its answers does.",
};

pub static FR: PreferTexts = PreferTexts {
    tab: "Préférences",
    title: "Quelle réponse est la meilleure ?",
    intro: "Un modèle de conversation n’est pas seulement entraîné à continuer un texte. Des personnes comparent ensuite ses réponses deux à deux, et un second modèle, le modèle de récompense, apprend à prédire celle qu’elles préfèrent. Ici, la classe vote, et après chaque vote un petit modèle de récompense est ajusté à nouveau, sur cet appareil : une note calculée sur le dernier état caché du modèle, moyenné sur la réponse. Les exemples sont en anglais, la langue que ce petit modèle écrit le mieux.",
    presets: [
        ("Expliquer", "Explain to a child why the sky is blue."),
        ("Un conseil", "Give me one tip to sleep better."),
        ("Une histoire", "Tell a very short story about a cat."),
    ],
    question: "Une question",
    write_two: "Écrire deux réponses",
    better: "Celle-ci est meilleure",
    skip: "Aucune : une autre paire",
    first_vote: "Votez au moins une fois : le modèle de récompense apprend des votes.",
    best_title: "Meilleure de n : le modèle de récompense choisit",
    best_hint: "Le modèle écrit plusieurs réponses ; le modèle de récompense note chacune et garde la meilleure. C’est la façon la plus simple d’orienter un modèle de conversation avec des préférences humaines sans changer le modèle.",
    best_button: "Écrire et classer",
    answers: "réponses",
    reward: "récompense",
    kept: "Les votes restent dans ce navigateur.",
    export: "Exporter les votes",
    forget: "Oublier les votes",
    real: "Les vrais systèmes vont plus loin. Avec le RLHF, un modèle de récompense entraîné sur des centaines de milliers de comparaisons sert à ajuster le modèle de langage lui-même, pour qu’il écrive des réponses mieux notées. La méthode DPO se passe du modèle de récompense et ajuste le modèle de langage directement à partir des paires. Ici, le modèle ne change jamais : seul le choix parmi ses réponses change.",
};
