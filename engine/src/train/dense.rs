//! The trainers' three matrix products (a layer's forward pass and its two backward products), tiled so
//! that each weight row or input chunk loaded is used for four rows at once. Each value is summed in the
//! same order as the plain one-row loops ([`dot`], then [`axpy`] one row after another), so tiling
//! changes the speed and not a single bit of the result, whatever the batch.
//!
//! A large product is shared by the engine's CPU threads ([`by_rows`]), each writing its own rows of
//! the result, every value still summed by the same code in the same order: the result does not
//! depend on the number of threads either.
//!
//! Shapes: `x (n, inp)`, `w (out, inp)`, `dy (n, out)`, all row-major.

use super::lanes::F32x4;
use super::nn::{axpy, dot};
use super::split::by_rows;

/// Values per chunk: eight partial sums, as [`dot`] keeps them.
const LANES: usize = 8;
/// Rows worked on together.
const TILE: usize = 4;

/// `y = x · wᵀ (+ b)`, `(n, out)`: `y[r][o]` is `dot(w[o], x[r]) + b[o]` exactly.
pub(crate) fn x_wt(x: &[f32], w: &[f32], b: Option<&[f32]>, inp: usize, out: usize) -> Vec<f32> {
    let n = x.len() / inp;
    let mut y = vec![0.0f32; n * out];
    by_rows(&mut y, out, TILE, n * inp * out, &|first, part| x_wt_rows(&x[first * inp..], w, b, inp, out, part));
    y
}

/// The rows of `x · wᵀ (+ b)` that `y` holds, from the rows of `x` that `x` starts with.
fn x_wt_rows(x: &[f32], w: &[f32], b: Option<&[f32]>, inp: usize, out: usize, y: &mut [f32]) {
    let n = y.len() / out;
    let bias = |o: usize| b.map_or(0.0, |b| b[o]);
    let full = n / TILE * TILE;
    for r in (0..full).step_by(TILE) {
        let rows: [&[f32]; TILE] = std::array::from_fn(|k| &x[(r + k) * inp..][..inp]);
        for (o, wr) in w.chunks_exact(inp).enumerate() {
            let sums = dot4(wr, rows);
            for (k, s) in sums.into_iter().enumerate() {
                y[(r + k) * out + o] = s + bias(o);
            }
        }
    }
    for r in full..n {
        let xr = &x[r * inp..][..inp];
        for (o, wr) in w.chunks_exact(inp).enumerate() {
            y[r * out + o] = dot(wr, xr) + bias(o);
        }
    }
}

/// Four dot products of `w` with four rows, each summed exactly as [`dot`] sums it: eight partial sums
/// (two sets of four lanes), then those in order, then the values past the last whole chunk.
fn dot4(w: &[f32], x: [&[f32]; TILE]) -> [f32; TILE] {
    let body = w.len() / LANES * LANES;
    let mut acc = [[F32x4::zero(); 2]; TILE];
    for c in (0..body).step_by(LANES) {
        let (lo, hi) = (F32x4::load(&w[c..]), F32x4::load(&w[c + 4..]));
        for (a, xr) in acc.iter_mut().zip(x) {
            a[0] = a[0].add_mul(lo, F32x4::load(&xr[c..]));
            a[1] = a[1].add_mul(hi, F32x4::load(&xr[c + 4..]));
        }
    }
    std::array::from_fn(|k| {
        let mut sums = [0.0f32; LANES];
        acc[k][0].store(&mut sums[..4]);
        acc[k][1].store(&mut sums[4..]);
        let tail: f32 = w[body..].iter().zip(&x[k][body..]).map(|(a, b)| a * b).sum();
        sums.iter().sum::<f32>() + tail
    })
}

/// `dx += dy · w`, `(n, inp)`: each `dx[r]` gets `dy[r][o] · w[o]` for `o` in order, as one [`axpy`]
/// after another would add them.
pub(crate) fn add_dy_w(dy: &[f32], w: &[f32], dx: &mut [f32], inp: usize, out: usize) {
    let n = dy.len() / out;
    by_rows(dx, inp, TILE, n * inp * out, &|first, part| add_dy_w_rows(&dy[first * out..], w, part, inp, out));
}

/// [`add_dy_w`] into the rows that `dx` holds, from the rows of `dy` that `dy` starts with.
fn add_dy_w_rows(dy: &[f32], w: &[f32], dx: &mut [f32], inp: usize, out: usize) {
    let n = dx.len() / inp;
    let full = n / TILE * TILE;
    let body = inp / LANES * LANES;
    for r in (0..full).step_by(TILE) {
        for c in (0..body).step_by(LANES) {
            add_to_tile(dx, r * inp + c, inp, |acc| {
                for o in 0..out {
                    let wc = &w[o * inp + c..];
                    add_scaled(acc, |k| dy[(r + k) * out + o], wc);
                }
            });
        }
    }
    // The columns past the last whole chunk, and the rows past the last whole tile.
    for r in 0..n {
        let from = if r < full { body } else { 0 };
        let dxr = &mut dx[r * inp + from..(r + 1) * inp];
        for (o, wr) in w.chunks_exact(inp).enumerate() {
            axpy(dy[r * out + o], &wr[from..], dxr);
        }
    }
}

/// `gw += dyᵀ · x`, `(out, inp)`: each `gw[o]` gets `dy[r][o] · x[r]` for `r` in order, as one [`axpy`]
/// after another would add them.
pub(crate) fn add_dyt_x(dy: &[f32], x: &[f32], gw: &mut [f32], inp: usize, out: usize) {
    let n = dy.len() / out;
    let body = inp / LANES * LANES;
    // The rows' chunks side by side (chunk by chunk, every row's eight values in turn), so the loop over
    // the rows reads memory in order rather than one row's width apart.
    let mut by_chunk = vec![0.0f32; n * body];
    for (r, xr) in x.chunks_exact(inp).enumerate().take(n) {
        for c in (0..body).step_by(LANES) {
            by_chunk[c * n + r * LANES..][..LANES].copy_from_slice(&xr[c..c + LANES]);
        }
    }
    let by_chunk = &by_chunk;
    by_rows(gw, inp, TILE, n * inp * out, &|first, part| {
        let rows = part.len() / inp;
        let full = rows / TILE * TILE;
        for o in (0..full).step_by(TILE) {
            for c in (0..body).step_by(LANES) {
                add_to_tile(part, o * inp + c, inp, |acc| {
                    for (r, xc) in by_chunk[c * n..(c + LANES) * n].chunks_exact(LANES).enumerate() {
                        add_scaled(acc, |k| dy[r * out + first + o + k], xc);
                    }
                });
            }
        }
        for o in 0..rows {
            let from = if o < full { body } else { 0 };
            let gr = &mut part[o * inp + from..(o + 1) * inp];
            for (r, xr) in x.chunks_exact(inp).enumerate().take(n) {
                axpy(dy[r * out + first + o], &xr[from..], gr);
            }
        }
    });
}

/// `sums += Σ_r dy[r]`, `dy` being `(n, sums.len())`: a bias's gradient.
pub(crate) fn add_column_sums(dy: &[f32], sums: &mut [f32]) {
    for dyr in dy.chunks_exact(sums.len()) {
        sums.iter_mut().zip(dyr).for_each(|(s, d)| *s += d);
    }
}

/// Loads eight values from each of `TILE` rows of `target` (`stride` apart, from `at`), lets `add`
/// add into them, and stores them back.
#[inline(always)]
fn add_to_tile(target: &mut [f32], at: usize, stride: usize, add: impl FnOnce(&mut [[F32x4; 2]; TILE])) {
    let mut acc: [[F32x4; 2]; TILE] = std::array::from_fn(|k| {
        let row = &target[at + k * stride..];
        [F32x4::load(row), F32x4::load(&row[4..])]
    });
    add(&mut acc);
    for (k, a) in acc.iter().enumerate() {
        let row = &mut target[at + k * stride..];
        a[0].store(row);
        a[1].store(&mut row[4..]);
    }
}

/// `acc[k] += scale(k) · v[..8]` for each of the tile's rows.
#[inline(always)]
fn add_scaled(acc: &mut [[F32x4; 2]; TILE], scale: impl Fn(usize) -> f32, v: &[f32]) {
    let (lo, hi) = (F32x4::load(v), F32x4::load(&v[4..]));
    for (k, a) in acc.iter_mut().enumerate() {
        let d = F32x4::splat(scale(k));
        a[0] = a[0].add_mul(d, lo);
        a[1] = a[1].add_mul(d, hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::nn::Rng;

    fn random(len: usize, rng: &mut Rng) -> Vec<f32> {
        (0..len).map(|_| rng.normal()).collect()
    }

    /// Shapes with and without whole tiles and chunks, and smaller than one.
    const SHAPES: [(usize, usize, usize); 6] =
        [(32, 64, 24), (7, 13, 5), (1, 3, 2), (4, 8, 4), (9, 1024, 6), (33, 2, 128)];

    #[test]
    fn tiled_products_match_a_float64_reference() {
        let mut rng = Rng::new(11);
        for (n, inp, out) in SHAPES {
            let (x, w, dy, b) = (
                random(n * inp, &mut rng),
                random(out * inp, &mut rng),
                random(n * out, &mut rng),
                random(out, &mut rng),
            );
            let (dx0, gw0) = (random(n * inp, &mut rng), random(out * inp, &mut rng));
            let y = x_wt(&x, &w, Some(&b), inp, out);
            let (mut dx, mut gw) = (dx0.clone(), gw0.clone());
            add_dy_w(&dy, &w, &mut dx, inp, out);
            add_dyt_x(&dy, &x, &mut gw, inp, out);
            // f64 sums of at most 1,024 products of unit normals: f32 rounding stays well under 1e-4 of
            // the sum's scale (√inp or √n).
            let close =
                |got: f32, want: f64, terms: usize| (got as f64 - want).abs() <= 1e-4 * (terms as f64).sqrt().max(1.0);
            for r in 0..n {
                for o in 0..out {
                    let want: f64 =
                        (0..inp).map(|i| x[r * inp + i] as f64 * w[o * inp + i] as f64).sum::<f64>() + b[o] as f64;
                    assert!(close(y[r * out + o], want, inp), "y[{r}][{o}] {n}×{inp}→{out}");
                }
                for i in 0..inp {
                    let want: f64 = dx0[r * inp + i] as f64
                        + (0..out).map(|o| dy[r * out + o] as f64 * w[o * inp + i] as f64).sum::<f64>();
                    assert!(close(dx[r * inp + i], want, out), "dx[{r}][{i}] {n}×{inp}→{out}");
                }
            }
            for o in 0..out {
                for i in 0..inp {
                    let want: f64 = gw0[o * inp + i] as f64
                        + (0..n).map(|r| dy[r * out + o] as f64 * x[r * inp + i] as f64).sum::<f64>();
                    assert!(close(gw[o * inp + i], want, n), "gw[{o}][{i}] {n}×{inp}→{out}");
                }
            }
        }
    }

    #[test]
    fn tiled_products_equal_the_one_row_loops_bit_for_bit() {
        let mut rng = Rng::new(12);
        for (n, inp, out) in SHAPES {
            let (x, w, dy) = (random(n * inp, &mut rng), random(out * inp, &mut rng), random(n * out, &mut rng));
            let y = x_wt(&x, &w, None, inp, out);
            let (mut dx, mut gw) = (vec![0.0; n * inp], vec![0.5; out * inp]);
            add_dy_w(&dy, &w, &mut dx, inp, out);
            add_dyt_x(&dy, &x, &mut gw, inp, out);
            let (mut dx1, mut gw1) = (vec![0.0; n * inp], vec![0.5; out * inp]);
            for r in 0..n {
                let (xr, dyr) = (&x[r * inp..][..inp], &dy[r * out..][..out]);
                for o in 0..out {
                    let wr = &w[o * inp..][..inp];
                    assert_eq!(y[r * out + o].to_bits(), dot(wr, xr).to_bits(), "y[{r}][{o}] {n}×{inp}→{out}");
                    axpy(dyr[o], wr, &mut dx1[r * inp..][..inp]);
                    axpy(dyr[o], xr, &mut gw1[o * inp..][..inp]);
                }
            }
            assert!(dx.iter().zip(&dx1).all(|(a, b)| a.to_bits() == b.to_bits()), "dx {n}×{inp}→{out}");
            assert!(gw.iter().zip(&gw1).all(|(a, b)| a.to_bits() == b.to_bits()), "gw {n}×{inp}→{out}");
        }
    }

    #[test]
    fn products_shared_by_threads_equal_one_thread_bit_for_bit() {
        use crate::backend::cpu::pool::{install, Pool};
        let mut rng = Rng::new(13);
        // Large enough to be shared (over 2^18 multiply-adds, 24 rows for three threads), with and
        // without whole tiles and chunks.
        for (n, inp, out) in [(64, 96, 72), (61, 100, 53), (1024, 64, 192)] {
            let (x, w, dy, b) = (
                random(n * inp, &mut rng),
                random(out * inp, &mut rng),
                random(n * out, &mut rng),
                random(out, &mut rng),
            );
            let products = || {
                let y = x_wt(&x, &w, Some(&b), inp, out);
                let (mut dx, mut gw) = (vec![0.25; n * inp], vec![0.5; out * inp]);
                add_dy_w(&dy, &w, &mut dx, inp, out);
                add_dyt_x(&dy, &x, &mut gw, inp, out);
                [y, dx, gw]
            };
            let one = install(&Pool::new(1), products);
            let three = install(&Pool::new(3), products);
            for (name, a, b) in [("y", &one[0], &three[0]), ("dx", &one[1], &three[1]), ("gw", &one[2], &three[2])] {
                assert!(a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()), "{name} {n}×{inp}→{out}");
            }
        }
    }
}
