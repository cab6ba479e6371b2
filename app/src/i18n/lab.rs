//! The words of the autoencoder lab, in English and French.

use super::Lang;

/// Every fixed text of the autoencoder lab.
#[derive(Debug)]
pub struct LabTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub data: &'static str,
    pub faces: &'static str,
    pub digits: &'static str,
    pub bottleneck: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub reset: &'static str,
    pub step: &'static str,
    pub steps: &'static str,
    pub held_out: &'static str,
    pub examples: &'static str,
    pub input: &'static str,
    pub plain: &'static str,
    pub vae: &'static str,
    pub examples_hint: &'static str,
    pub strip: &'static str,
    pub strip_hint: &'static str,
    pub curves: &'static str,
    pub curves_hint: &'static str,
    pub map: &'static str,
    pub map_hint: &'static str,
    pub tiles: &'static str,
    pub tiles_hint: &'static str,
    pub generate: &'static str,
    pub generate_hint: &'static str,
    pub morph: &'static str,
    pub morph_hint: &'static str,
    pub draw_hint: &'static str,
    pub draw_clear: &'static str,
    pub on_cpu: &'static str,
}

impl Lang {
    /// Where a lab trains on the CPU: "on the CPU", or "on the CPU (2 cores)" when its products are
    /// shared by more than one.
    pub fn on_cpu(self, cores: usize) -> String {
        match (self, cores) {
            (_, 0 | 1) => self.lt().on_cpu.to_owned(),
            (Self::En, n) => format!("{} ({n} cores)", self.lt().on_cpu),
            (Self::Fr, n) => format!("{} ({n} cœurs)", self.lt().on_cpu),
        }
    }

    /// The autoencoder lab's texts.
    pub fn lt(self) -> &'static LabTexts {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
        }
    }
}

/// English.
static EN: LabTexts = LabTexts {
    title: "Autoencoder lab",
    intro: "An autoencoder squeezes each image through a few numbers (the code) and rebuilds it from them alone. What survives the squeeze is what matters most; details are lost. Two models learn here, live, on this device: a plain autoencoder and a variational one (VAE), whose codes are pulled toward a bell curve so that any code near the middle decodes to something plausible.",
    data: "Images",
    faces: "Faces (32 × 32, drawn by the app)",
    digits: "Handwritten digits (8 × 8)",
    bottleneck: "Code size",
    pause: "Pause",
    resume: "Resume",
    reset: "Start over",
    step: "iteration",
    steps: "iterations",
    held_out: "held-out error, plain / VAE:",
    examples: "Held-out examples and their rebuilds",
    input: "Input",
    plain: "Plain",
    vae: "VAE",
    examples_hint: "These images were never used for training. Click one to follow it through the strip.",
    strip: "Input → code → output",
    strip_hint: "The whole image is summed up by the code's few numbers; the decoder rebuilds it from them (left: plain, right: VAE). Shrink the code and watch details vanish.",
    curves: "Reconstruction error",
    curves_hint: "mean squared error per pixel as training goes on; solid: held-out images, dashed: training images.",
    map: "The code plane",
    map_hint: "Every held-out image is a dot at its code (colour: digit, or how much the face smiles). Move the pointer: the image decoded from that point appears on the right.",
    tiles: "Decoding the whole plane",
    tiles_hint: "A grid of codes from −3 to 3 on each axis, decoded by the VAE: neighbouring codes give similar images.",
    generate: "Generate",
    generate_hint: "Random codes drawn from a bell curve, decoded. The plain autoencoder never learned what lies between its codes, so its samples are often garbage; the VAE was trained so that this region is filled, so its samples look like new examples.",
    morph: "Morph",
    morph_hint: "One slider per number of the VAE's code (the first eight): move one and see which feature it controls.",
    draw_hint: "Or draw your own here (light on dark): the strip follows your pen.",
    draw_clear: "Clear the drawing",
    on_cpu: "on the CPU",
};

/// French.
static FR: LabTexts = LabTexts {
    title: "Labo d’autoencodeur",
    intro: "Un autoencodeur fait passer chaque image par quelques nombres (le code), puis la reconstruit à partir d’eux seuls. Ce qui survit à la compression est l’essentiel ; les détails se perdent. Deux modèles apprennent ici, en direct, sur cet appareil : un autoencodeur simple et un autoencodeur variationnel (VAE), dont les codes sont ramenés vers une courbe en cloche, si bien que tout code proche du centre donne une image plausible.",
    data: "Images",
    faces: "Visages (32 × 32, dessinés par l’appli)",
    digits: "Chiffres manuscrits (8 × 8)",
    bottleneck: "Taille du code",
    pause: "Pause",
    resume: "Reprendre",
    reset: "Recommencer",
    step: "itération",
    steps: "itérations",
    held_out: "erreur sur les images mises de côté, simple / VAE :",
    examples: "Images mises de côté et leurs reconstructions",
    input: "Entrée",
    plain: "Simple",
    vae: "VAE",
    examples_hint: "Ces images n’ont jamais servi à l’apprentissage. Cliquez sur l’une d’elles pour la suivre dans la bande.",
    strip: "Entrée → code → sortie",
    strip_hint: "Toute l’image est résumée par les quelques nombres du code ; le décodeur la reconstruit à partir d’eux (à gauche : simple, à droite : VAE). Réduisez le code et regardez les détails disparaître.",
    curves: "Erreur de reconstruction",
    curves_hint: "erreur quadratique moyenne par pixel au fil de l’apprentissage ; trait plein : images mises de côté, pointillés : images d’apprentissage.",
    map: "Le plan des codes",
    map_hint: "Chaque image mise de côté est un point placé à son code (couleur : le chiffre, ou le sourire du visage). Déplacez le pointeur : l’image décodée en ce point apparaît à droite.",
    tiles: "Décoder tout le plan",
    tiles_hint: "Une grille de codes de −3 à 3 sur chaque axe, décodés par le VAE : des codes voisins donnent des images proches.",
    generate: "Générer",
    generate_hint: "Des codes tirés au hasard selon une courbe en cloche, puis décodés. L’autoencodeur simple n’a jamais appris ce qu’il y a entre ses codes : ses images sont souvent informes. Le VAE a appris à remplir cette région : ses images ressemblent à de nouveaux exemples.",
    morph: "Faire varier le code",
    morph_hint: "Un curseur par nombre du code du VAE (les huit premiers) : bougez-en un et voyez quel trait il commande.",
    draw_hint: "Ou dessinez le vôtre ici (clair sur fond sombre) : la bande suit votre crayon.",
    draw_clear: "Effacer le dessin",
    on_cpu: "sur le processeur",
};
