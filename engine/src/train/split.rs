//! The trainers' work shared by the engine's CPU threads (its `pool`: natively every core unless
//! `glassbox --threads` says otherwise; in the browser, the web workers of a build with wasm threads).
//! Each thread writes rows of its own, each value computed by the same code as on one thread, so a
//! trainer's every step is the same to the bit whatever the number of threads.

#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
use crate::backend::cpu::pool;

/// Less work than this (in multiply-adds or the like) is not worth sharing with other threads: about
/// 0.1 ms on one core.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
const MIN_WORK_PER_SPLIT: usize = 1 << 18;

/// Calls `fill(first, rows)` on slices of `target`'s rows (each `row_len` long) that together cover
/// it, `first` being a slice's first row: on the engine's threads when the work (`work`, about one
/// unit per multiply-add) is worth sharing, else once with every row. Each slice but the last holds a
/// whole number of `tile` rows, so tiles fall where one call would put them.
pub(crate) fn by_rows(
    target: &mut [f32],
    row_len: usize,
    tile: usize,
    work: usize,
    fill: &(dyn Fn(usize, &mut [f32]) + Sync),
) {
    let rows = target.len() / row_len.max(1);
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    {
        let split = pool::with_current(|pool| {
            let threads = pool.threads();
            if !(threads > 1 && rows >= 2 * tile * threads && work >= MIN_WORK_PER_SPLIT) {
                return false;
            }
            // Two slices per thread, so that a thread slowed by the rest of the machine holds up less.
            let chunk = rows.div_ceil(2 * threads).next_multiple_of(tile);
            let parts: Vec<std::sync::Mutex<&mut [f32]>> =
                target.chunks_mut(chunk * row_len).map(std::sync::Mutex::new).collect();
            pool.for_each(parts.len(), &|i| {
                let mut part = parts[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                fill(i * chunk, &mut part)
            });
            true
        });
        if split {
            return;
        }
    }
    let _ = (rows, tile, work);
    fill(0, target)
}

/// Calls `f(i, &mut parts[i])` for every part: on the engine's threads when the work (`work`, about one
/// unit per multiply-add) is worth sharing, else in turn on this thread.
pub(crate) fn each_part<T: Send>(parts: Vec<T>, work: usize, f: &(dyn Fn(usize, &mut T) + Sync)) {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    {
        let shared = pool::with_current(|pool| pool.threads() > 1 && parts.len() > 1 && work >= MIN_WORK_PER_SPLIT);
        if shared {
            let parts: Vec<std::sync::Mutex<T>> = parts.into_iter().map(std::sync::Mutex::new).collect();
            pool::with_current(|pool| {
                pool.for_each(parts.len(), &|i| {
                    f(i, &mut parts[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
                })
            });
            return;
        }
    }
    let _ = work;
    for (i, mut part) in parts.into_iter().enumerate() {
        f(i, &mut part);
    }
}

/// `out[i] = f(x[i])`, shared by the threads when `x` is long (`cost`: about how many multiply-adds
/// one `f` is worth).
pub(crate) fn map(x: &[f32], cost: usize, f: &(dyn Fn(f32) -> f32 + Sync)) -> Vec<f32> {
    /// Values per row of the split.
    const ROW: usize = 256;
    let mut out = vec![0.0f32; x.len()];
    by_rows(&mut out, ROW, 1, x.len() * cost, &|first, part| {
        part.iter_mut().zip(&x[first * ROW..]).for_each(|(o, &v)| *o = f(v));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::pool::{install, Pool};

    #[test]
    fn map_shared_by_threads_gives_every_value_once_in_place() {
        // Long enough to be shared, and not a whole number of rows.
        let x: Vec<f32> = (0..300_001).map(|i| i as f32 * 0.5).collect();
        let got = install(&Pool::new(3), || map(&x, 4, &|v| v * 2.0 + 1.0));
        assert_eq!(got.len(), x.len());
        assert!(got.iter().enumerate().all(|(i, &v)| v == i as f32 + 1.0));
    }

    #[test]
    fn each_part_visits_every_part_once_with_its_index_on_one_and_three_threads() {
        for threads in [1, 3] {
            let mut target = vec![0usize; 1000];
            install(&Pool::new(threads), || {
                each_part(target.chunks_mut(7).collect(), 1 << 20, &|i, part: &mut &mut [usize]| {
                    part.iter_mut().for_each(|v| *v += i + 1);
                })
            });
            assert!(target.iter().enumerate().all(|(j, &v)| v == j / 7 + 1), "{threads} threads");
        }
    }

    #[test]
    fn by_rows_covers_each_row_once_with_its_index() {
        for (rows, tile) in [(1000, 4), (37, 1), (3, 1)] {
            let mut target = vec![0.0f32; rows * 3];
            install(&Pool::new(3), || {
                by_rows(&mut target, 3, tile, 1 << 20, &|first, part| {
                    for (i, row) in part.chunks_exact_mut(3).enumerate() {
                        row.iter_mut().for_each(|v| *v += (first + i) as f32);
                    }
                })
            });
            let want: Vec<f32> = (0..rows).flat_map(|r| [r as f32; 3]).collect();
            assert_eq!(target, want, "{rows} rows in tiles of {tile}");
        }
    }
}
