//! The teaching views' sentences built from figures (a guess's probability and rank, a step's place in
//! the lesson, numbers as each language writes them), in English and French.

use super::Lang;

impl Lang {
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
