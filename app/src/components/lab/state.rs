//! The autoencoder lab page's state: the setup, the worker's reports kept for drawing, and the requests
//! it sends (the component in `mod.rs` only draws them).

use gloo_worker::{Spawnable, WorkerBridge};
use leptos::prelude::*;

use crate::lab::{DecodePurpose, LabRequest, LabResponse, LabSetup, LabWorker, Progress, Which, SHOWN};

/// The latent plane shown: [-EXTENT, EXTENT]² (where N(0, 1) puts nearly all its mass).
pub(super) const EXTENT: f32 = 3.0;
/// The tiled plane's tiles per side.
pub(super) const TILES: usize = 8;

/// One training report kept for the curves: reconstruction error on held-out and on training images.
#[derive(Debug, Clone, Copy)]
pub(super) struct Point {
    pub(super) step: usize,
    pub(super) plain: f32,
    pub(super) vae: f32,
    pub(super) plain_train: f32,
    pub(super) vae_train: f32,
}

/// The picked image through both models: plain code, plain rebuild, VAE code, VAE rebuild.
pub(super) type Rebuild = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

#[derive(Debug, Clone, Copy)]
pub(super) struct Lab {
    pub(super) setup: RwSignal<LabSetup>,
    pub(super) side: RwSignal<usize>,
    pub(super) examples: RwSignal<Vec<f32>>,
    pub(super) progress: RwSignal<Option<Progress>>,
    pub(super) curve: RwSignal<Vec<Point>>,
    pub(super) picked: RwSignal<usize>,
    /// The run whose reports are shown (`None` between a start and its answer).
    pub(super) run: RwSignal<Option<u64>>,
    /// A drawing replaces the picked example in the strip while it exists.
    pub(super) drawn: RwSignal<Option<Vec<f32>>>,
    pub(super) rebuild: RwSignal<Option<Rebuild>>,
    pub(super) samples: RwSignal<(Vec<f32>, Vec<f32>)>,
    pub(super) morph: RwSignal<Vec<f32>>,
    pub(super) morph_image: RwSignal<Vec<f32>>,
    pub(super) hover_image: RwSignal<Vec<f32>>,
    pub(super) tiles: RwSignal<Vec<f32>>,
    pub(super) bridge: StoredValue<Option<WorkerBridge<LabWorker>>, LocalStorage>,
    /// Samples were asked for before the models had learned anything.
    pub(super) pending_generate: StoredValue<bool>,
    /// Where the requests log's figures go.
    pub(super) fetched: RwSignal<Vec<crate::protocol::Fetched>>,
    /// Counts the runs asked for, so that a watch set for an older one stays silent.
    pub(super) starts: StoredValue<u32>,
    /// Workers started again because one never answered.
    pub(super) restarts: StoredValue<u32>,
}

/// How long the lab's worker may take to answer a start (its examples, within a second or two once
/// its code has arrived) before it is started again.
const LAB_SILENCE_MS: u32 = 20_000;
/// Fresh workers tried before the page stops trying (a reload is then the user's call).
const MAX_RESTARTS: u32 = 2;

/// Steps after which random codes decode to something worth showing.
const TRAINED_ENOUGH: usize = 300;

impl Lab {
    pub(super) fn send(&self, request: LabRequest) {
        self.bridge.with_value(|b| {
            if let Some(b) = b {
                b.send(request);
            }
        });
    }

    /// Starts the lab's worker (dropping the only bridge to an older one ends it).
    pub(super) fn spawn_worker(self) {
        let bridge = LabWorker::spawner()
            .callback(move |r| self.on_response(r))
            .with_loader(true)
            .as_module(false)
            .spawn(crate::lab_worker_url());
        self.bridge.set_value(Some(bridge));
    }

    /// Trains from scratch with the current setup, and watches that the worker answers: one that
    /// stays silent (it happened, rarely, in headless Chromium) is replaced and asked again.
    pub(super) fn start(self) {
        self.starts.update_value(|n| *n += 1);
        let start = self.starts.get_value();
        gloo_timers::callback::Timeout::new(LAB_SILENCE_MS, move || {
            if self.run.get_untracked().is_some() || self.starts.get_value() != start {
                return;
            }
            if self.restarts.get_value() >= MAX_RESTARTS {
                web_sys::console::warn_1(&"the lab's worker has not answered; reload the page to try again".into());
                return;
            }
            self.restarts.update_value(|n| *n += 1);
            web_sys::console::warn_1(&"the lab's worker has not answered: starting a new one".into());
            self.spawn_worker();
            self.start();
        })
        .forget();
        let setup = self.setup.get_untracked();
        self.run.set(None);
        self.curve.set(Vec::new());
        self.progress.set(None);
        self.rebuild.set(None);
        self.samples.set((Vec::new(), Vec::new()));
        self.morph_image.set(Vec::new());
        self.hover_image.set(Vec::new());
        self.tiles.set(Vec::new());
        self.morph.set(vec![0.0; setup.latent]);
        self.send(LabRequest::Start(setup));
    }

    /// What the strip shows: the drawing, or the picked example.
    pub(super) fn strip_input(&self) -> Vec<f32> {
        self.drawn.get_untracked().unwrap_or_else(|| self.image(self.picked.get_untracked()))
    }

    pub(super) fn image(&self, i: usize) -> Vec<f32> {
        let d = self.side.get_untracked().pow(2);
        self.examples.with_untracked(|e| e.get(i * d..(i + 1) * d).map(<[f32]>::to_vec).unwrap_or_default())
    }

    pub(super) fn on_response(&self, response: LabResponse) {
        match response {
            LabResponse::Ready { run, side, examples, .. } => {
                self.run.set(Some(run));
                self.side.set(side);
                self.drawn.set(None);
                self.examples.set(examples);
                self.picked.set(0);
            }
            LabResponse::Progress(p) if self.run.get_untracked() != Some(p.run) => {}
            LabResponse::Progress(p) => {
                let point = Point {
                    step: p.step,
                    plain: p.test_mse.0,
                    vae: p.test_mse.1,
                    plain_train: p.train_mse.0,
                    vae_train: p.train_mse.1,
                };
                self.curve.update(|c| {
                    if c.last().is_none_or(|last| last.step < point.step) {
                        c.push(point);
                    }
                });
                let latent = self.setup.get_untracked().latent;
                if p.step >= TRAINED_ENOUGH && self.pending_generate.get_value() {
                    self.pending_generate.set_value(false);
                    self.generate();
                }
                self.progress.set(Some(p));
                // Keep the strip, the morph and the tiles in step with training.
                self.send(LabRequest::Reconstruct(self.strip_input()));
                self.send(LabRequest::Decode {
                    which: Which::Vae,
                    codes: self.morph.get_untracked(),
                    purpose: DecodePurpose::Morph,
                });
                if latent == 2 {
                    let codes = (0..TILES * TILES)
                        .flat_map(|i| {
                            let at = |k: usize| (k as f32 + 0.5) / TILES as f32 * 2.0 * EXTENT - EXTENT;
                            [at(i % TILES), -at(i / TILES)]
                        })
                        .collect();
                    self.send(LabRequest::Decode { which: Which::Vae, codes, purpose: DecodePurpose::Tiles });
                }
            }
            LabResponse::Fetched(list) => self.fetched.set(list),
            LabResponse::Reconstruction { plain_code, plain, vae_code, vae } => {
                self.rebuild.set(Some((plain_code, plain, vae_code, vae)))
            }
            LabResponse::Decoded { which, purpose, images } => match purpose {
                DecodePurpose::Samples => self.samples.update(|s| match which {
                    Which::Plain => s.0 = images,
                    Which::Vae => s.1 = images,
                }),
                DecodePurpose::Morph => self.morph_image.set(images),
                DecodePurpose::Hover => self.hover_image.set(images),
                DecodePurpose::Tiles => self.tiles.set(images),
            },
        }
    }

    /// Draws new examples now if the models have learned a little, else as soon as they have.
    pub(super) fn generate_when_trained(&self) {
        if self.progress.with_untracked(|p| p.as_ref().is_some_and(|p| p.step >= TRAINED_ENOUGH)) {
            self.generate();
        } else {
            self.pending_generate.set_value(true);
        }
    }

    pub(super) fn generate(&self) {
        let latent = self.setup.get_untracked().latent;
        let mut rng = engine::train::Rng::new(js_sys::Date::now() as u64);
        let codes: Vec<f32> = (0..SHOWN * latent).map(|_| rng.normal()).collect();
        for which in [Which::Plain, Which::Vae] {
            self.send(LabRequest::Decode { which, codes: codes.clone(), purpose: DecodePurpose::Samples });
        }
    }
}

/// Adds ink to `image` (`side × side`, values in [0, 1]) with a soft round brush centred on (`x`, `y`)
/// in pixels: full strength 0.6 at the centre, fading to nothing half a pixel past a radius of
/// `side / 16 + 0.3`, never above 1.
pub(super) fn brush(image: &mut [f32], side: usize, x: f64, y: f64) {
    let radius = side as f64 / 16.0 + 0.3;
    for (i, px) in image.iter_mut().enumerate() {
        let (px_x, px_y) = ((i % side) as f64 + 0.5, (i / side) as f64 + 0.5);
        let d = ((px_x - x).powi(2) + (px_y - y).powi(2)).sqrt();
        *px = (*px + (1.0 - d / (radius + 0.5)).clamp(0.0, 1.0) as f32 * 0.6).min(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::brush;

    #[test]
    fn the_brush_inks_around_the_pointer_only_and_never_past_one() {
        let side = 28;
        let mut image = vec![0.0f32; side * side];
        brush(&mut image, side, 10.5, 20.5);
        // Centre: 0.6; 2 px away, 0.6 · (1 − 2 / 2.55) (the radius 28 / 16 + 0.3, plus half a pixel);
        // 3 px away, past it: nothing.
        assert!((image[20 * side + 10] - 0.6).abs() < 1e-6);
        assert!((image[20 * side + 12] - 0.6 * (1.0 - 2.0 / 2.55)).abs() < 1e-6);
        assert_eq!(image[20 * side + 13], 0.0);
        assert_eq!(image[side + 1], 0.0);
        for _ in 0..5 {
            brush(&mut image, side, 10.5, 20.5);
        }
        assert_eq!(image[20 * side + 10], 1.0, "ink saturates at 1");
    }
}
