//! The model card's words, in English and French: one `(label, value)` row per fact of the file.

use engine::model::ModelCard;

use super::Lang;

impl Lang {
    /// The card's title.
    pub fn card_title(self) -> &'static str {
        match self {
            Self::En => "What this file holds",
            Self::Fr => "Ce que contient ce fichier",
        }
    }

    /// Before a file is read: what it holds and the memory it will take.
    pub fn estimate(self, e: &crate::preflight::Estimate) -> String {
        let mb = self.num(e.bytes as f64 / 1e6, 0);
        let tokens = self.int(e.positions);
        let params = self.num(e.parameters as f64 / 1e6, 1);
        let (arch, formats) = (&e.architecture, &e.formats);
        match self {
            Self::En => format!(
                "Its header says: a {arch} model of {params} M parameters in {formats}. It needs about {mb} MB here, with a conversation of {tokens} tokens."
            ),
            Self::Fr => format!(
                "Son en-tête dit : un modèle {arch} de {params} M de paramètres en {formats}. Il lui faut environ {mb} Mo ici, avec une conversation de {tokens} tokens."
            ),
        }
    }

    /// The card as rows: architecture, parameters, formats, shape, context, tokenizer, chat template and
    /// memory. Facts the file does not give are left out.
    pub fn card_rows(self, card: &ModelCard) -> Vec<(&'static str, String)> {
        let fr = self == Self::Fr;
        let pick = |en: &'static str, fr_text: &'static str| if fr { fr_text } else { en };
        let mb = if fr { "Mo" } else { "MB" };
        let mut rows = vec![(pick("Architecture", "Architecture"), card.architecture.clone())];
        if let Some(name) = &card.name {
            rows.push((pick("Name", "Nom"), name.clone()));
        }
        rows.push((
            pick("Parameters", "Paramètres"),
            format!(
                "{} M ({} {mb})",
                self.num(card.parameters as f64 / 1e6, 1),
                self.num(card.file_bytes as f64 / 1e6, 1)
            ),
        ));
        rows.push((pick("Block formats", "Formats des blocs"), card.formats_line()));
        if let (Some(layers), Some(width), Some((heads, kv))) = (card.layers, card.embedding, card.heads) {
            let shape = if fr {
                format!("{layers} blocs, largeur {width}, {heads} têtes d'attention ({kv} pour les clés et valeurs)")
            } else {
                format!("{layers} blocks, width {width}, {heads} attention heads ({kv} for keys and values)")
            };
            rows.push((pick("Shape", "Forme"), shape));
        }
        if let Some(context) = card.context {
            rows.push((pick("Context", "Contexte"), format!("{context} tokens")));
        }
        if let Some(tokenizer) = &card.tokenizer {
            let vocab = card.vocabulary.map(|v| format!(", {v} tokens")).unwrap_or_default();
            rows.push((pick("Tokenizer", "Découpage en tokens"), format!("{tokenizer}{vocab}")));
        }
        let template = match (card.chat_template, fr) {
            (true, false) => "yes (from the file)",
            (true, true) => "oui (celui du fichier)",
            (false, false) => "no (ChatML is used)",
            (false, true) => "non (ChatML est utilisé)",
        };
        rows.push((pick("Chat template", "Modèle de conversation"), template.to_owned()));
        if let Some(per) = card.kv_bytes_per_position {
            let at = |n: u64| self.num(card.memory_bytes(n) as f64 / 1e6, 0);
            let memory = if fr {
                format!(
                    "{} {mb} pour 1 000 tokens de conversation, {} {mb} pour 8 000 ({} ko par token)",
                    at(1000),
                    at(8000),
                    self.num(per as f64 / 1e3, 1)
                )
            } else {
                format!(
                    "{} {mb} for a conversation of 1,000 tokens, {} {mb} for 8,000 ({} kB per token)",
                    at(1000),
                    at(8000),
                    self.num(per as f64 / 1e3, 1)
                )
            };
            rows.push((pick("Memory", "Mémoire"), memory));
        }
        rows
    }
}
