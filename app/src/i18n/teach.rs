//! The words of the teaching views (lesson, next-word game, sampling, sharing, scale, requests log), in
//! English and French: one [`TeachTexts`] table per language, as for the rest of the page.

use super::Lang;

/// Every fixed text of the teaching views.
#[derive(Debug)]
pub struct TeachTexts {
    pub tab_lesson: &'static str,
    pub tab_game: &'static str,
    pub lesson_title: &'static str,
    pub chapters: [&'static str; 5],
    pub previous: &'static str,
    pub next: &'static str,
    pub ask_class: &'static str,
    pub teacher_notes: &'static str,
    pub keys_hint: &'static str,

    pub game_title: &'static str,
    pub game_intro: &'static str,
    pub game_text: &'static str,
    pub game_start: &'static str,
    pub game_guess: &'static str,
    pub game_reveal: &'static str,
    pub game_undo: &'static str,
    pub game_auto: &'static str,
    pub game_stop_auto: &'static str,
    pub game_pace: &'static str,
    pub game_thinking: &'static str,
    pub writing: &'static str,
    pub game_top: &'static str,
    pub game_hidden: &'static str,
    pub game_pieces_note: &'static str,

    pub lens_title: &'static str,
    pub lens_intro: &'static str,
    pub lens_on_text: &'static str,
    pub lens_on_answer: &'static str,
    pub lens_layer: &'static str,

    pub tab_words: &'static str,
    pub words_title: &'static str,
    pub words_intro: &'static str,
    pub words_place: &'static str,
    pub words_map: &'static str,
    pub words_map_hint: &'static str,
    pub words_split: &'static str,
    pub words_nearest: &'static str,
    pub words_find: &'static str,
    pub words_analogy_hint: &'static str,
    pub words_in_context: &'static str,
    pub words_in_context_hint: &'static str,
    pub words_compare: &'static str,
    pub words_axis: &'static str,
    pub words_reference: &'static [&'static str],
    pub words_analogy: [&'static str; 3],
    pub words_context: (&'static str, &'static str, &'static str),

    pub tab_masked: &'static str,
    pub masked_title: &'static str,
    pub masked_intro: &'static str,
    pub masked_sentence: &'static str,
    pub masked_examples: &'static str,
    pub masked_add: &'static str,
    pub masked_add_hint: &'static str,
    pub masked_ask: &'static str,
    pub masked_no_blank: &'static str,
    pub masked_no_candidate: &'static str,
    pub masked_proposed: &'static str,
    pub masked_look: &'static str,
    pub masked_bars: &'static str,
    pub masked_presets: [(&'static str, &'static [&'static str]); 3],

    pub sampling_title: &'static str,
    pub sampling_intro: &'static str,
    pub sampling_legend: &'static str,
    pub roll: &'static str,
    pub three_answers: &'static str,
    pub top_k_all: &'static str,

    pub read_label: &'static str,
    pub read_button: &'static str,
    pub back_to_answer: &'static str,
    pub read_token: &'static str,

    pub share: &'static str,
    pub share_title: &'static str,
    pub copy: &'static str,
    pub qr_too_long: &'static str,
    pub close: &'static str,
    pub link_broken: &'static str,
    pub dismiss: &'static str,

    pub scale_title: &'static str,
    pub scale_parameters: &'static str,
    pub scale_data: &'static str,
    pub scale_compute: &'static str,
    pub scale_lab_model: &'static str,
    pub scale_this_model: &'static str,
    pub scale_sources: &'static str,
    pub scale_note: &'static str,

    pub privacy_title: &'static str,
    pub privacy_by_page: &'static str,
    pub privacy_by_engine: &'static str,
    pub privacy_by_lab: &'static str,
    pub privacy_from_copy: &'static str,
    pub privacy_from_network: &'static str,
    pub privacy_faces: &'static str,
    pub privacy_offline: &'static str,
}

impl Lang {
    /// The teaching views' texts.
    pub fn tt(self) -> &'static TeachTexts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }

    /// "Step 3 of 13 · about 4 min".
    pub fn step_of(self, at: usize, of: usize, minutes: u32) -> String {
        match self {
            Self::En => format!("Step {at} of {of} · about {minutes} min"),
            Self::Fr => format!("Étape {at} sur {of} · environ {minutes} min"),
        }
    }

    /// The guess's result: its pieces, probability and rank.
    pub fn guess_result(self, word: &str, pieces: &[String], prob: f32, rank: usize, vocab: usize) -> String {
        let p = self.percent_precise(prob);
        let vocab = self.int(vocab as u64);
        let rank = self.int(rank as u64);
        let split = pieces.iter().map(|p| format!("«{}»", p)).collect::<Vec<_>>().join(" + ");
        match (self, pieces.len()) {
            // Only the tiny model can meet a character it has no token for.
            (Self::En, 0) => format!("«{word}»: probability 0, the model has never seen some of its characters."),
            (Self::Fr, 0) => format!("« {word} » : probabilité 0, le modèle n’a jamais vu certains de ses caractères."),
            (Self::En, 1) => format!("«{word}»: probability {p}, rank {rank} of {vocab} tokens."),
            (Self::En, n) => format!(
                "«{word}» is {n} tokens ({split}): probability {p}, the product of its pieces' probabilities; its first piece ranks {rank} of {vocab}."
            ),
            (Self::Fr, 1) => format!("« {word} » : probabilité {p}, rang {rank} sur {vocab} tokens."),
            (Self::Fr, n) => format!(
                "« {word} » fait {n} tokens ({split}) : probabilité {p}, le produit des probabilités de ses morceaux ; son premier morceau est au rang {rank} sur {vocab}."
            ),
        }
    }

    /// "How unsure: 3.0 nats of entropy".
    pub fn entropy(self, nats: f32) -> String {
        let n = self.num(nats as f64, 2);
        match self {
            Self::En => format!("Entropy {n} nats: the higher, the more the model hesitates."),
            Self::Fr => format!("Entropie {n} nats : plus elle est haute, plus le modèle hésite."),
        }
    }

    /// "41 tokens can be drawn".
    pub fn kept(self, n: usize) -> String {
        let n_text = self.int(n as u64);
        match (self, n) {
            (Self::En, 1) => "1 token can be drawn: the choice is made.".to_owned(),
            (Self::En, _) => format!("{n_text} tokens can be drawn; the bars show the 10 likeliest."),
            (Self::Fr, 1) => "1 seul token peut être tiré : le choix est fait.".to_owned(),
            (Self::Fr, _) => format!("{n_text} tokens peuvent être tirés ; les barres montrent les 10 plus probables."),
        }
    }

    /// "Drawn with seed 43: «girl»".
    pub fn rolled(self, seed: u64, token: &str) -> String {
        match self {
            Self::En => format!("Drawn with seed {seed}: «{token}»"),
            Self::Fr => format!("Tiré avec la graine {seed} : « {token} »"),
        }
    }

    /// "Seed 43".
    pub fn seed_label(self, seed: u64) -> String {
        match self {
            Self::En => format!("Seed {seed}"),
            Self::Fr => format!("Graine {seed}"),
        }
    }

    /// Under the token view: which temperature its probabilities were taken at.
    pub fn drawn_with(self, drawn: Option<(f32, usize, f32)>) -> String {
        let own = match self {
            Self::En => "Probabilities are the model's own, at temperature 1",
            Self::Fr => "Les probabilités sont celles du modèle, à température 1",
        };
        match drawn {
            None => format!("{own}."),
            Some((t, k, p)) => {
                let (t, p) = (self.num(t as f64, 2), self.num(p as f64, 2));
                match self {
                    Self::En => format!("{own}; the answer was drawn at temperature {t}, top-k {k}, top-p {p}."),
                    Self::Fr => format!("{own} ; la réponse a été tirée à température {t}, top-k {k}, top-p {p}."),
                }
            }
        }
    }

    /// The requests log's summary line.
    pub fn requests_summary(self, total: usize, own: usize, elsewhere: usize, since_model: Option<usize>) -> String {
        let since = since_model.map(|n| match self {
            Self::En => format!(" Since the model loaded: {n}."),
            Self::Fr => format!(" Depuis le chargement du modèle : {n}."),
        });
        let since = since.unwrap_or_default();
        match self {
            Self::En => format!(
                "{total} requests since this page opened: {own} to its own server, {elsewhere} anywhere else.{since}"
            ),
            Self::Fr => format!(
                "{total} requêtes depuis l’ouverture de la page : {own} vers son propre serveur, {elsewhere} ailleurs.{since}"
            ),
        }
    }

    /// Under the in-context curve: where the word's two vectors part most.
    pub fn context_note(self, word: &str, block: usize, cosine: f32) -> String {
        let c = self.num(cosine as f64, 2);
        match self {
            Self::En => {
                format!("\u{201c}{word}\u{201d} in the two sentences: least alike after block {block} (cosine {c}).")
            }
            Self::Fr => {
                format!("« {word} » dans les deux phrases : le moins semblables après le bloc {block} (cosinus {c}).")
            }
        }
    }

    /// "5 tokens × 30 blocks in 0.4 s".
    pub fn lens_took(self, tokens: usize, blocks: usize, ms: f64, on_gpu: bool) -> String {
        let s = self.num(ms / 1000.0, 1);
        match (self, on_gpu) {
            (Self::En, false) => format!("{tokens} tokens × {blocks} blocks in {s} s on the CPU"),
            (Self::En, true) => format!("{tokens} tokens × {blocks} blocks in {s} s on the GPU"),
            (Self::Fr, false) => format!("{tokens} tokens × {blocks} blocs en {s} s sur le processeur"),
            (Self::Fr, true) => format!("{tokens} tokens × {blocks} blocs en {s} s sur la carte graphique"),
        }
    }

    /// The heading of a clicked lens cell.
    pub fn lens_cell(self, block: usize, token: &str) -> String {
        match self {
            Self::En => format!("After block {block}, at «{token}», the model would write next:"),
            Self::Fr => format!("Après le bloc {block}, sur « {token} », le modèle écrirait ensuite :"),
        }
    }

    /// The note for an address that could not be read.
    pub fn link_note(self, why: &str) -> String {
        format!("{} ({why}).", self.tt().link_broken)
    }

    /// A whole number with this language's thousands separator.
    pub fn int(self, n: u64) -> String {
        let digits = n.to_string();
        let sep = match self {
            Self::En => ",",
            Self::Fr => "\u{202f}",
        };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// A probability as a percentage with enough digits to tell small ones apart.
    pub fn percent_precise(self, p: f32) -> String {
        let pct = p as f64 * 100.0;
        let digits = if pct >= 10.0 {
            1
        } else if pct >= 0.1 {
            2
        } else {
            (-(pct.log10().floor()) as usize + 1).min(8)
        };
        format!("{} %", self.num(pct, digits))
    }
}

/// English.
pub static EN: TeachTexts = TeachTexts {
    tab_lesson: "Lesson",
    tab_game: "Next word",
    lesson_title: "ChatGPT, letter by letter",
    chapters: ["Transformer", "Generative", "Pre-trained", "Chat", "Why it runs here"],
    previous: "← Previous",
    next: "Next →",
    ask_class: "Ask the class",
    teacher_notes: "Teacher's notes",
    keys_hint: "The ← and → keys change step.",

    game_title: "Guess the next word",
    game_intro: "The model reads the text and gives every token of its vocabulary a probability of coming next. Type your guess, then reveal. (· marks a space, which belongs to the token.)",
    game_text: "Text",
    game_start: "Start",
    game_guess: "Your guess…",
    game_reveal: "Reveal",
    game_undo: "Undo",
    game_auto: "Auto",
    game_stop_auto: "Stop auto",
    game_pace: "One token every",
    game_thinking: "The model is reading…",
    writing: "The model is writing…",
    game_top: "The 10 likeliest next tokens — click one to continue the text with it",
    game_hidden: "Guess first, then reveal.",
    game_pieces_note: "A word of several tokens gets the product of its pieces' probabilities.",

    lens_title: "Logit lens: the guess, block after block",
    lens_intro: "Each block adds its part to one running vector per token, the residual stream. Applying the model's last step to it after every block shows what the model would predict if it stopped there: read a column downward to watch the guess form. The last row is the model's own prediction.",
    lens_on_text: "Lens on this text",
    lens_on_answer: "Lens on the last chat answer",
    lens_layer: "Block",

    tab_words: "Word map",
    words_title: "Words as points in space",
    words_intro: "To the model each token is a list of 576 numbers, learned in training: a point in a 576-dimensional space. Words used in similar ways end up near each other. The map flattens those points onto the two directions along which these words differ most.",
    words_place: "Place on the map",
    words_map: "The map of words",
    words_map_hint: "Grey: reference words; blue: yours. The two axes are the directions of greatest spread among these words (principal components); nearby points have similar vectors.",
    words_split: "Cut into several tokens (the mean of their vectors is used):",
    words_nearest: "Nearest tokens in the whole vocabulary (cosine similarity)",
    words_find: "Find",
    words_analogy_hint: "An analogy: a − b + c. The answer is whatever token lies nearest, right or wrong.",
    words_in_context: "The same word in two sentences",
    words_in_context_hint: "After each block, the word's vector in the first sentence is compared with its vector in the second (cosine 1: the same). They start as the same token's vector; the sentences around them pull them apart.",
    words_compare: "Compare",
    words_axis: "after block",
    words_reference: &["cat", "dog", "horse", "bird", "red", "blue", "green", "yellow", "one", "two", "three", "four", "France", "Italy", "Spain", "Germany", "run", "walk", "eat", "drink", "king", "queen", "happy", "sad"],
    words_analogy: ["king", "man", "woman"],
    words_context: ("bank", "She sat on the bank of the river.", "He put his money in the bank."),

    tab_masked: "Hidden word",
    masked_title: "The Smurf game: guess the hidden word",
    masked_intro: "The model reads left to right, so the page has it read the whole sentence once per candidate and compares the probabilities: the words after the blank count too. Hiding a word and guessing it from the others is how such models learn: billions of guesses, each one followed by a small correction toward the right word.",
    masked_sentence: "Sentence (___ marks the hidden word)",
    masked_examples: "Examples",
    masked_add: "Add",
    masked_add_hint: "a word, or several separated by commas",
    masked_ask: "Ask the model",
    masked_no_blank: "Put ___ where the hidden word goes.",
    masked_no_candidate: "Add at least one word to try.",
    masked_proposed: "proposed by the model",
    masked_look: "See what the word looks at",
    masked_bars: "Each candidate's share of the probability of its completed sentence",
    masked_presets: [
        ("It is raining, take your ___.", &["umbrella", "hat", "bike", "dog"]),
        ("The sun rises in the ___.", &["east", "west", "north", "south"]),
        ("I drink my coffee with milk and ___.", &["sugar", "salt", "pepper"]),
    ],

    sampling_title: "The draw: temperature, top-k, top-p",
    sampling_intro: "The same scores, reshaped into the distribution a token is drawn from: cut tokens are greyed, the rest renormalised. At temperature 0 a single bar remains.",
    sampling_legend: "Outline: the model's own probability. Filled: the probability of being drawn with these settings.",
    roll: "Roll",
    three_answers: "Three answers",
    top_k_all: "0 = all",

    read_label: "Let the model read a sentence of yours",
    read_button: "Read",
    back_to_answer: "Back to the last answer",
    read_token: "The model read this token in your sentence; it did not choose it.",

    share: "Share",
    share_title: "This link opens the same screen on another device (same settings, same seed, same answer).",
    copy: "Copy",
    qr_too_long: "Too long for a QR code: copy the link instead.",
    close: "Close",
    link_broken: "This link could not be read, so the start page is shown",
    dismiss: "OK",

    scale_title: "Three scales of training",
    scale_parameters: "Parameters (numbers tuned by training)",
    scale_data: "Training data (images or tokens read)",
    scale_compute: "Training compute (arithmetic operations)",
    scale_lab_model: "The lab's VAE (faces)",
    scale_this_model: "SmolLM2-135M (this page's model)",
    scale_sources: "Sources",
    scale_note: "Each bar is on a logarithmic scale: one step to the right is ten times more. Compute is estimated as 6 × parameters × tokens.",

    privacy_title: "Every request this page made",
    privacy_by_page: "the page",
    privacy_by_engine: "the engine",
    privacy_by_lab: "the lab",
    privacy_from_copy: "this browser's copy",
    privacy_from_network: "network",
    privacy_faces: "See synthetic data: generated faces that are nobody's",
    privacy_offline: "Turn the network off: everything here keeps working.",
};

/// French.
pub static FR: TeachTexts = TeachTexts {
    tab_lesson: "Leçon",
    tab_game: "Mot suivant",
    lesson_title: "ChatGPT, lettre par lettre",
    chapters: ["Transformeur", "Génératif", "Pré-entraîné", "Conversation", "Pourquoi ici"],
    previous: "← Précédent",
    next: "Suivant →",
    ask_class: "À demander à la classe",
    teacher_notes: "Notes pour l’enseignant",
    keys_hint: "Les touches ← et → changent d’étape.",

    game_title: "Devine le mot suivant",
    game_intro: "Le modèle lit le texte et donne à chaque token de son vocabulaire une probabilité de venir ensuite. Proposez un mot, puis révélez. (· marque une espace, qui fait partie du token.)",
    game_text: "Texte",
    game_start: "Commencer",
    game_guess: "Votre proposition…",
    game_reveal: "Révéler",
    game_undo: "Annuler",
    game_auto: "Auto",
    game_stop_auto: "Arrêter l’auto",
    game_pace: "Un token toutes les",
    game_thinking: "Le modèle lit…",
    writing: "Le modèle écrit…",
    game_top: "Les 10 tokens suivants les plus probables — cliquez sur l’un d’eux pour continuer le texte avec lui",
    game_hidden: "Devinez d’abord, puis révélez.",
    game_pieces_note: "Un mot de plusieurs tokens reçoit le produit des probabilités de ses morceaux.",

    lens_title: "Lentille des logits : la réponse, bloc après bloc",
    lens_intro: "Chaque bloc ajoute sa part à un même vecteur par token, le flux résiduel. En lui appliquant après chaque bloc la dernière étape du modèle, on voit ce qu’il prédirait s’il s’arrêtait là : lisez une colonne de haut en bas pour voir la réponse se former. La dernière ligne est la prédiction du modèle lui-même.",
    lens_on_text: "Lentille sur ce texte",
    lens_on_answer: "Lentille sur la dernière réponse de la discussion",
    lens_layer: "Bloc",

    tab_words: "Carte des mots",
    words_title: "Les mots comme des points dans l’espace",
    words_intro: "Pour le modèle, chaque token est une liste de 576 nombres apprise pendant l’entraînement : un point dans un espace à 576 dimensions. Les mots employés de façon semblable finissent proches les uns des autres. La carte aplatit ces points sur les deux directions selon lesquelles ces mots diffèrent le plus.",
    words_place: "Placer sur la carte",
    words_map: "La carte des mots",
    words_map_hint: "En gris : des mots de référence ; en bleu : les vôtres. Les deux axes sont les directions où ces mots s’écartent le plus (composantes principales) ; des points voisins ont des vecteurs semblables.",
    words_split: "Coupés en plusieurs tokens (on prend la moyenne de leurs vecteurs) :",
    words_nearest: "Les tokens les plus proches dans tout le vocabulaire (similarité cosinus)",
    words_find: "Chercher",
    words_analogy_hint: "Une analogie : a − b + c. La réponse est le token le plus proche, juste ou faux.",
    words_in_context: "Le même mot dans deux phrases",
    words_in_context_hint: "Après chaque bloc, le vecteur du mot dans la première phrase est comparé à son vecteur dans la seconde (cosinus 1 : identiques). Au départ, c’est le même vecteur de token ; les phrases autour les écartent.",
    words_compare: "Comparer",
    words_axis: "après le bloc",
    words_reference: &["chat", "chien", "cheval", "oiseau", "rouge", "bleu", "vert", "jaune", "un", "deux", "trois", "quatre", "France", "Italie", "Espagne", "Allemagne", "courir", "marcher", "manger", "boire", "roi", "reine", "heureux", "triste"],
    words_analogy: ["chat", "chien", "chiens"],
    words_context: ("souris", "La souris mange du fromage.", "Je clique avec la souris de l'ordinateur."),

    tab_masked: "Mot caché",
    masked_title: "Le jeu du Schtroumpf : devine le mot caché",
    masked_intro: "Le modèle lit de gauche à droite : la page lui fait donc lire la phrase entière une fois par candidat et compare les probabilités, si bien que les mots après le trou comptent aussi. Cacher un mot et le deviner à partir des autres, c’est ainsi que ces modèles apprennent : des milliards d’essais, chacun suivi d’une petite correction vers le bon mot.",
    masked_sentence: "Phrase (___ marque le mot caché)",
    masked_examples: "Exemples",
    masked_add: "Ajouter",
    masked_add_hint: "un mot, ou plusieurs séparés par des virgules",
    masked_ask: "Demander au modèle",
    masked_no_blank: "Mettez ___ à la place du mot caché.",
    masked_no_candidate: "Ajoutez au moins un mot à essayer.",
    masked_proposed: "proposé par le modèle",
    masked_look: "Voir ce que regarde le mot",
    masked_bars: "Part de chaque candidat dans la probabilité de sa phrase complétée",
    masked_presets: [
        ("Paris est la capitale de la ___.", &["France", "Italie", "Espagne", "lune"]),
        ("Le soleil se lève à l'___.", &["est", "ouest", "nord", "sud"]),
        ("Le chat boit du ___.", &["lait", "vin", "café", "pain"]),
    ],

    sampling_title: "Le tirage : température, top-k, top-p",
    sampling_intro: "Les mêmes scores, transformés en la distribution dans laquelle un token est tiré : les tokens coupés sont grisés, les autres renormalisés. À température 0, il ne reste qu’une barre.",
    sampling_legend: "Contour : la probabilité du modèle. Plein : la probabilité d’être tiré avec ces réglages.",
    roll: "Tirer",
    three_answers: "Trois suites",
    top_k_all: "0 = tous",

    read_label: "Faire lire une phrase au modèle",
    read_button: "Lire",
    back_to_answer: "Revenir à la dernière réponse",
    read_token: "Le modèle a lu ce token dans votre phrase ; il ne l’a pas choisi.",

    share: "Partager",
    share_title: "Ce lien ouvre le même écran sur un autre appareil (mêmes réglages, même graine, même réponse).",
    copy: "Copier",
    qr_too_long: "Trop long pour un code QR : copiez plutôt le lien.",
    close: "Fermer",
    link_broken: "Ce lien n’a pas pu être lu : voici la page d’accueil",
    dismiss: "OK",

    scale_title: "Trois échelles d’entraînement",
    scale_parameters: "Paramètres (nombres réglés par l’entraînement)",
    scale_data: "Données d’entraînement (images ou tokens lus)",
    scale_compute: "Calcul d’entraînement (opérations arithmétiques)",
    scale_lab_model: "Le VAE du labo (visages)",
    scale_this_model: "SmolLM2-135M (le modèle de cette page)",
    scale_sources: "Sources",
    scale_note: "Chaque barre est sur une échelle logarithmique : un cran vers la droite, c’est dix fois plus. Le calcul est estimé à 6 × paramètres × tokens.",

    privacy_title: "Toutes les requêtes de cette page",
    privacy_by_page: "la page",
    privacy_by_engine: "le moteur",
    privacy_by_lab: "le labo",
    privacy_from_copy: "copie de ce navigateur",
    privacy_from_network: "réseau",
    privacy_faces: "Voir des données synthétiques : des visages générés, qui ne sont ceux de personne",
    privacy_offline: "Coupez le réseau : tout ici continue de marcher.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally_in_both_languages() {
        assert_eq!(Lang::En.int(49_152), "49,152");
        assert_eq!(Lang::Fr.int(49_152), "49\u{202f}152");
        assert_eq!(Lang::En.int(952), "952");
        assert_eq!(Lang::En.percent_precise(0.3223), "32.2 %");
        assert_eq!(Lang::Fr.percent_precise(0.0123), "1,23 %");
        assert_eq!(Lang::En.percent_precise(0.000_070_18), "0.0070 %");
    }

    #[test]
    fn a_guess_of_several_tokens_says_its_probability_is_a_product() {
        let text = Lang::En.guess_result("cinq", &[" cin".into(), "q".into()], 0.322, 1, 49_152);
        assert!(text.contains("2 tokens") && text.contains("product") && text.contains("rank"), "{text}");
        let text = Lang::Fr.guess_result("Paris", &[" Paris".into()], 7.0e-5, 952, 49_152);
        assert_eq!(text, "« Paris » : probabilité 0,0070 %, rang 952 sur 49\u{202f}152 tokens.");
    }
}
