//! The CPU threads a product is split over: natively, threads of the OS; in the browser, web workers
//! that share the engine's memory (a build with wasm threads: see `web_threads.rs`).
//!
//! Decoding one token runs about 120 products of 0.05–0.5 ms each, separated by a few microseconds of
//! norms and attention. A general-purpose pool (rayon) lets its idle threads sleep after a few
//! microseconds, so every product paid for waking them (tens of microseconds on a VM), and two
//! threads decoded only 1.06× faster than one. Here the idle threads keep watching for work for
//! about 2 ms before they sleep — natively for [`WATCH_FOR`], yielding the core to any other thread
//! that wants it; in wasm, which has neither a clock nor a yield in std, for a count of looks — so they
//! are awake for the next product, and the calling thread takes its own share of every product.
//!
//! One product runs at a time: a call made while another is running (another thread's, or one
//! nested in a task) runs on its own thread, without waiting.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, TryLockError};
use std::thread::JoinHandle;
#[cfg(test)]
use std::time::Duration;

/// How long an idle thread keeps watching for the next product before it sleeps.
#[cfg(not(target_arch = "wasm32"))]
const WATCH_FOR: std::time::Duration = std::time::Duration::from_millis(2);

/// An idle thread's watch: [`WATCH_FOR`] natively; in wasm, which has no clock in std, a number of
/// looks (each after 64 polls: about 2 ms in all on a laptop's core).
#[cfg(not(target_arch = "wasm32"))]
struct Watch(std::time::Instant);

#[cfg(not(target_arch = "wasm32"))]
impl Watch {
    fn start() -> Watch {
        Watch(std::time::Instant::now())
    }

    fn over(&mut self) -> bool {
        self.0.elapsed() >= WATCH_FOR
    }
}

#[cfg(target_arch = "wasm32")]
struct Watch(u32);

#[cfg(target_arch = "wasm32")]
impl Watch {
    const LOOKS: u32 = 16_384;

    fn start() -> Watch {
        Watch(0)
    }

    fn over(&mut self) -> bool {
        self.0 += 1;
        self.0 >= Self::LOOKS
    }
}

/// A task with its borrow's lifetime erased while it is published: it lives on the calling thread's
/// stack, and [`Pool::for_each`] returns only once no thread holds it any more.
#[derive(Clone, Copy)]
struct TaskPtr(*const (dyn Fn(usize) + Sync));

// SAFETY: the task is `Sync`; the pointer is only dereferenced while the call that published it waits.
unsafe impl Send for TaskPtr {}

/// The product on offer.
struct Slot {
    epoch: u64,
    /// Threads may join while it is open; the caller closes it once every index is taken.
    open: bool,
    task: Option<TaskPtr>,
    count: usize,
}

struct Shared {
    /// Bumped when a product is published (or the pool stops): what idle threads watch.
    epoch: AtomicU64,
    slot: Mutex<Slot>,
    /// The next index to run.
    next: AtomicUsize,
    /// Threads that joined the current product and have not left it.
    active: AtomicUsize,
    /// Helper threads that have started their idle loop.
    running: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    sleepers: AtomicUsize,
    sleep: Mutex<()>,
    wake: Condvar,
    stop: AtomicBool,
}

/// A fixed set of threads that, with the calling thread, run `task(i)` for every `i` of a range.
pub struct Pool {
    shared: Arc<Shared>,
    /// Serialises products: held by the calling thread for the whole of one.
    submit: Mutex<()>,
    /// Threads started besides the caller's.
    helpers: usize,
    /// The OS threads among them, joined when the pool is dropped (web workers are not joined: they
    /// return from their loop and stay idle).
    joins: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("threads", &self.threads()).finish()
    }
}

impl Pool {
    /// A pool of `threads` threads in all: the caller and `threads - 1` OS threads started here (none
    /// in wasm, whose std starts no thread: see [`Pool::started_by`]).
    pub fn new(threads: usize) -> Pool {
        let mut joins = Vec::new();
        let mut pool = Pool::started_by(threads, |i, body| {
            // A thread the OS refuses leaves a smaller pool, not a failure.
            match std::thread::Builder::new().name(format!("glassbox-cpu-{i}")).spawn(body) {
                Ok(handle) => {
                    joins.push(handle);
                    true
                }
                Err(_) => false,
            }
        });
        pool.joins = joins;
        pool
    }

    /// A pool of the caller and up to `threads - 1` threads that `start(i, body)` starts, each to run
    /// `body` (the thread's whole life); `start` says whether it did.
    pub fn started_by(threads: usize, mut start: impl FnMut(usize, Box<dyn FnOnce() + Send>) -> bool) -> Pool {
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            slot: Mutex::new(Slot { epoch: 0, open: false, task: None, count: 0 }),
            next: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            panic: Mutex::new(None),
            sleepers: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let helpers = (1..threads.max(1))
            .filter(|&i| {
                let shared = Arc::clone(&shared);
                start(i, Box::new(move || work(&shared)))
            })
            .count();
        Pool { shared, submit: Mutex::new(()), helpers, joins: Vec::new() }
    }

    /// Threads a product is split over, the caller included.
    pub fn threads(&self) -> usize {
        self.helpers + 1
    }

    /// Threads that are running, the caller included: [`Pool::threads`] once every helper has started
    /// (a web worker starts some milliseconds after it was asked for, or never if its script fails).
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::Acquire) + 1
    }

    /// Runs `task(i)` once for every `i` in `0..count`, on the pool's threads and this one, and
    /// returns when all have run. A panic in a task is raised again here, after the others finish.
    pub fn for_each(&self, count: usize, task: &(dyn Fn(usize) + Sync)) {
        let guard = match self.submit.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Another product is running (or this call is nested in one of its tasks): run here.
            Err(TryLockError::WouldBlock) => return (0..count).for_each(task),
        };
        if self.helpers == 0 || count < 2 {
            return (0..count).for_each(task);
        }
        let shared = &*self.shared;
        // SAFETY: only the lifetime is erased; the pointer is withdrawn below (slot closed, every
        // thread that joined gone) before this function returns and the borrow ends.
        let erased: TaskPtr = TaskPtr(unsafe {
            std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync + 'static)>(task)
        });
        let epoch = {
            let mut slot = lock(&shared.slot);
            shared.next.store(0, Ordering::Relaxed);
            slot.epoch += 1;
            slot.open = true;
            slot.task = Some(erased);
            slot.count = count;
            shared.epoch.store(slot.epoch, Ordering::SeqCst);
            slot.epoch
        };
        if shared.sleepers.load(Ordering::SeqCst) > 0 {
            let _sleep = lock(&shared.sleep);
            shared.wake.notify_all();
        }
        run_indices(shared, task, count);
        {
            let mut slot = lock(&shared.slot);
            debug_assert_eq!(slot.epoch, epoch);
            slot.open = false;
            slot.task = None;
        }
        while shared.active.load(Ordering::Acquire) > 0 {
            // In wasm a panic aborts its thread (no unwinding), leaving it counted in `active`: fail
            // here rather than wait for it forever.
            #[cfg(target_arch = "wasm32")]
            if PANICKED.load(Ordering::Relaxed) {
                panic!("a thread of the engine's pool panicked (its message is in the console)");
            }
            std::hint::spin_loop();
        }
        let panic = lock(&shared.panic).take();
        drop(guard);
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        {
            let _sleep = lock(&self.shared.sleep);
            self.shared.wake.notify_all();
        }
        for handle in self.joins.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Takes indices until none is left; a panicking task is recorded and the others still run.
fn run_indices(shared: &Shared, task: &(dyn Fn(usize) + Sync), count: usize) {
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= count {
            return;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| task(i))) {
            lock(&shared.panic).get_or_insert(payload);
        }
    }
}

/// An idle thread: watches for a product, joins it while it is open, sleeps after [`WATCH_FOR`].
fn work(shared: &Shared) {
    shared.running.fetch_add(1, Ordering::Release);
    let mut seen = 0u64;
    loop {
        let mut watch = Watch::start();
        let mut polls = 0u32;
        while shared.epoch.load(Ordering::Acquire) == seen {
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(64) {
                std::hint::spin_loop();
            } else if !watch.over() {
                // Lets a thread that wants this core run; returns at once when none does.
                std::thread::yield_now();
            } else {
                sleep_until_published(shared, seen);
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (task, count) = {
            let slot = lock(&shared.slot);
            seen = slot.epoch;
            match slot.task {
                Some(task) if slot.open => {
                    shared.active.fetch_add(1, Ordering::Relaxed);
                    (task, slot.count)
                }
                _ => continue,
            }
        };
        // SAFETY: the slot was open when this thread joined (counted in `active`), so the caller
        // that published the task waits, its borrow alive, until this thread leaves below.
        run_indices(shared, unsafe { &*task.0 }, count);
        shared.active.fetch_sub(1, Ordering::Release);
    }
}

fn sleep_until_published(shared: &Shared, seen: u64) {
    let mut guard = lock(&shared.sleep);
    // With `SeqCst` on both sides, either this thread sees the new epoch or the publisher sees a
    // sleeper and takes `sleep` (held here until `wait` releases it) to wake it: no wake-up is lost.
    shared.sleepers.fetch_add(1, Ordering::SeqCst);
    while shared.epoch.load(Ordering::SeqCst) == seen {
        guard = shared.wake.wait(guard).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    shared.sleepers.fetch_sub(1, Ordering::SeqCst);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic is caught around every task, so no lock is held across one; recover anyway.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Set by [`note_panic`].
#[cfg(target_arch = "wasm32")]
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Records that a thread panicked (wasm's panic hook calls it: there the panic aborts that thread).
#[cfg(target_arch = "wasm32")]
pub fn note_panic() {
    PANICKED.store(true, Ordering::Relaxed);
}

/// Threads asked for before the shared pool starts (0: every core).
static WANTED: AtomicUsize = AtomicUsize::new(0);
static SHARED_POOL: OnceLock<Pool> = OnceLock::new();

/// Sets the shared pool's size (`glassbox --threads`); `Err` with its size if it already started
/// with another.
pub fn set_threads(threads: usize) -> Result<(), usize> {
    WANTED.store(threads, Ordering::SeqCst);
    match SHARED_POOL.get() {
        Some(pool) if pool.threads() != threads.max(1) => Err(pool.threads()),
        _ => Ok(()),
    }
}

thread_local! {
    /// The pool [`install`] lent this thread, if any.
    static INSTALLED: std::cell::Cell<*const Pool> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Runs `f` with `pool` as this thread's pool instead of the shared one (tests compare thread
/// counts this way).
pub fn install<R>(pool: &Pool, f: impl FnOnce() -> R) -> R {
    struct Restore(*const Pool);
    impl Drop for Restore {
        fn drop(&mut self) {
            INSTALLED.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(INSTALLED.with(|cell| cell.replace(pool)));
    f()
}

/// Runs `f` with this thread's pool: the one [`install`] lent it, else the shared one.
pub fn with_current<R>(f: impl FnOnce(&Pool) -> R) -> R {
    let installed = INSTALLED.with(|cell| cell.get());
    if installed.is_null() {
        f(shared())
    } else {
        // SAFETY: `install` keeps the pool borrowed, and restores the previous value, around `f`'s
        // run on this thread, so the pointer is alive whenever it is set.
        f(unsafe { &*installed })
    }
}

/// Makes `pool` the shared one (the browser's, whose threads its host starts); `Err` gives it back if
/// the shared pool already started.
pub fn set_shared(pool: Pool) -> Result<(), Pool> {
    SHARED_POOL.set(pool)
}

/// The pool the engine's products use, started on first use (with one thread in wasm unless
/// [`set_shared`] gave it more).
pub fn shared() -> &'static Pool {
    SHARED_POOL.get_or_init(|| {
        let wanted = WANTED.load(Ordering::SeqCst);
        let threads = if wanted > 0 { wanted } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
        Pool::new(threads)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pool: &Pool, count: usize) -> Vec<usize> {
        let hits: Vec<AtomicUsize> = (0..count).map(|_| AtomicUsize::new(0)).collect();
        pool.for_each(count, &|i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        hits.into_iter().map(AtomicUsize::into_inner).collect()
    }

    #[test]
    fn running_counts_the_helpers_that_started_not_those_asked_for() {
        // Three threads asked for; the host starts one helper and says it started the other too (as a
        // web worker whose script never loads would look).
        let pool = Pool::started_by(3, |i, body| {
            if i == 1 {
                std::thread::spawn(body);
            }
            true
        });
        assert_eq!(pool.threads(), 3);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool.running() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(pool.running(), 2, "the caller and the one helper that runs");
        // Products still complete: the threads that run take every index.
        assert_eq!(counts(&pool, 64), vec![1; 64]);
        assert_eq!(pool.running(), 2);
    }

    #[test]
    fn every_index_runs_exactly_once() {
        for threads in [1, 2, 3, 5] {
            let pool = Pool::new(threads);
            assert_eq!(pool.threads(), threads);
            // Back to back, as decoding does, to give a race between products a chance to show.
            for round in 0..3_000 {
                let count = round % 37;
                assert_eq!(counts(&pool, count), vec![1; count], "{threads} threads, {count} indices");
            }
        }
    }

    #[test]
    fn products_from_several_threads_at_once_all_complete() {
        let pool = Pool::new(3);
        std::thread::scope(|s| {
            for caller in 0..4 {
                let pool = &pool;
                s.spawn(move || {
                    for round in 0..500 {
                        let count = 1 + (round + caller) % 29;
                        assert_eq!(counts(pool, count), vec![1; count]);
                    }
                });
            }
        });
    }

    #[test]
    fn sleeping_threads_wake_for_the_next_product() {
        let pool = Pool::new(2);
        let workers_seen = Mutex::new(std::collections::HashSet::new());
        for _ in 0..3 {
            std::thread::sleep(WATCH_FOR * 5);
            assert_eq!(counts(&pool, 64), vec![1; 64]);
        }
        // Long tasks, so that the woken thread surely takes some: the work is shared after a sleep.
        pool.for_each(8, &|_| {
            lock(&workers_seen).insert(std::thread::current().id());
            std::thread::sleep(Duration::from_millis(20));
        });
        assert_eq!(workers_seen.into_inner().unwrap().len(), 2, "both threads took part");
    }

    #[test]
    fn a_panicking_task_is_raised_to_the_caller_and_the_pool_goes_on() {
        let pool = Pool::new(2);
        let ran = AtomicUsize::new(0);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.for_each(100, &|i| {
                ran.fetch_add(1, Ordering::Relaxed);
                assert!(i != 41, "task 41 fails");
            })
        }));
        assert!(outcome.is_err());
        assert_eq!(ran.load(Ordering::Relaxed), 100, "the other tasks still ran");
        assert_eq!(counts(&pool, 50), vec![1; 50]);
    }

    #[test]
    fn a_product_nested_in_a_task_runs_on_its_thread() {
        let pool = Pool::new(2);
        let total = AtomicUsize::new(0);
        pool.for_each(4, &|_| {
            pool.for_each(10, &|j| {
                total.fetch_add(j, Ordering::Relaxed);
            })
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 45);
    }
}
