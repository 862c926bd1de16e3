//! Training throughput, measured: samples per second of training steps under each condition on
//! one thread, the same step's matrix products alone (the GEMM-only bound, measured in the same
//! process with the same library and operand forms), the FMA-peak bound (the step's product
//! FLOPs at the register-only FMA peak of one core at the CPU's widest vector width, measured
//! in the same process), and how much faster a sweep of independent runs goes on two threads
//! than on one. When the products run on a wider kernel set than the portable one, the same
//! products on the portable set are timed too, interleaved, so the two can be compared.
//!
//! The workload is Ioffe & Szegedy's MNIST network (784-100-100-100-10 sigmoid, batch 60, f32,
//! plain SGD) on the shipped MNIST subset. Every series is measured in repetitions; within a
//! repetition the series take turns in blocks of steps (bound, each condition, then again,
//! each round starting one series later), so a change in the load of the machine hits all of
//! them alike. The reported figure is the
//! median repetition and each ratio is the median of the ratios within a repetition.
//!
//! ```no_run
//! use ipbn_train::bench::{run_bench, BenchOptions};
//! let report = run_bench(&BenchOptions::default()).unwrap();
//! println!("{}", report.table());
//! ```

use crate::condition::Condition;
use crate::config::TrainConfig;
use crate::data::{self, Split};
use crate::error::{ConfigError, Result, TrainError};
use crate::sweep::{run_sweep_with_data, Grid, SweepConfig, SweepOptions};
use crate::trainer::build_network;
use ipbn_math::kernels::{detected_kernels, product_kernels, KernelSet};
use ndarray::{s, Array2};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// The conditions measured by default, in report order.
pub const DEFAULT_CONDITIONS: [&str; 4] =
    ["plain", "bn", "ip:triesch", "ip+affine:infomax-logistic"];

/// What to measure and for how long.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Conditions to time (default: [`DEFAULT_CONDITIONS`]).
    pub conditions: Vec<Condition>,
    /// Training steps per timed repetition (default 300, ≥ 1).
    pub steps: usize,
    /// Untimed steps before the first repetition of each series (default 60).
    pub warmup: usize,
    /// Timed repetitions per series; the median is reported (default 7, ≥ 1).
    pub reps: usize,
    /// Within a repetition the series take turns in blocks of this many steps (default 50,
    /// ≥ 1), so that a change in the machine's load is shared by all of them.
    pub block: usize,
    /// The sweep speed-up measurement, or `None` to skip it.
    pub sweep: Option<SweepBenchOptions>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            conditions: DEFAULT_CONDITIONS
                .iter()
                .map(|c| c.parse().expect("the default conditions parse"))
                .collect(),
            steps: 300,
            warmup: 60,
            reps: 7,
            block: 50,
            sweep: Some(SweepBenchOptions::default()),
        }
    }
}

/// The sweep measured for the 1-thread versus 2-thread speed-up.
#[derive(Clone, Debug)]
pub struct SweepBenchOptions {
    /// Independent runs in the sweep (default 4: two per thread on two threads, ≥ 1).
    pub runs: usize,
    /// Training steps per run (default 400, ≥ 1); each run records at step 0 and at its end.
    pub steps: usize,
    /// Timed repetitions per thread count; the median is reported (default 3, ≥ 1).
    pub reps: usize,
}

impl Default for SweepBenchOptions {
    fn default() -> Self {
        SweepBenchOptions {
            runs: 4,
            steps: 400,
            reps: 3,
        }
    }
}

/// One condition's training throughput.
#[derive(Clone, Debug, Serialize)]
pub struct ConditionThroughput {
    /// The condition as written on the command line.
    pub condition: String,
    /// Median samples per second over the repetitions.
    pub samples_per_sec: f64,
    /// Median over repetitions of (this condition's rate / the GEMM-only rate of the same
    /// repetition).
    pub gemm_ratio: f64,
    /// `samples_per_sec` as a share of the FMA-peak bound
    /// ([`BenchReport::fma_bound_samples_per_sec`]).
    pub fma_share: f64,
    /// Samples per second of every repetition, in order.
    pub reps: Vec<f64>,
}

/// The 1-thread versus 2-thread sweep measurement.
#[derive(Clone, Debug, Serialize)]
pub struct SweepSpeedup {
    /// Independent runs in the sweep.
    pub runs: usize,
    /// Steps per run.
    pub steps: usize,
    /// Median wall time of the sweep on a 1-thread pool, in seconds.
    pub seconds_1_thread: f64,
    /// Median wall time of the sweep on a 2-thread pool, in seconds.
    pub seconds_2_threads: f64,
    /// `seconds_1_thread / seconds_2_threads`.
    pub speedup: f64,
    /// Median CPU time of the whole process during the sweep on 1 thread, in seconds (Linux:
    /// summed over `/proc/self/task/*/schedstat`; `None` elsewhere).
    pub cpu_seconds_1_thread: Option<f64>,
    /// The same on 2 threads. Equal CPU times mean the runs did not slow each other down
    /// (no lock, no shared cache line, no allocator contention): a wall-time speed-up below 2
    /// then comes from the CPU the machine gave the process.
    pub cpu_seconds_2_threads: Option<f64>,
    /// Cores the 2-thread sweep actually ran on, on average (its CPU time over its wall time);
    /// below 2 when other processes shared the machine.
    pub cores_used_2_threads: Option<f64>,
}

/// Everything `ipbn bench` reports.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Layer widths, input first, e.g. `[784, 100, 100, 100, 10]`.
    pub widths: Vec<usize>,
    /// Hidden activation.
    pub activation: String,
    /// Rows per training step.
    pub batch: usize,
    /// Threads used per measured run (always 1).
    pub threads: usize,
    /// Timed steps per repetition.
    pub steps: usize,
    /// Repetitions per series.
    pub reps: usize,
    /// Floating-point operations in one step's matrix products, in millions.
    pub gemm_mflop_per_step: f64,
    /// Median samples per second of the step's matrix products alone.
    pub gemm_bound_samples_per_sec: f64,
    /// The GEMM rate behind that bound, in GFLOP/s.
    pub gemm_gflops: f64,
    /// Samples per second of every repetition of the GEMM-only step.
    pub gemm_reps: Vec<f64>,
    /// One entry per condition, in the order asked for.
    pub conditions: Vec<ConditionThroughput>,
    /// The sweep speed-up, if measured.
    pub sweep: Option<SweepSpeedup>,
    /// Whether the element-wise kernels ran their AVX2 + FMA (or wider) instances.
    pub wide_simd: bool,
    /// The kernel set the matrix products ran on (`avx512`, `avx2+fma` or `baseline`; see
    /// `ipbn_math::gemm`).
    pub kernels: String,
    /// The kernel mode (`native`, or `portable` with `IPBN_KERNELS=portable`).
    pub kernel_mode: String,
    /// The widest kernel set of the CPU, which the element-wise kernels run on (they give the
    /// same bits on every set).
    pub cpu_kernels: String,
    /// The register-only `f32` FMA peak of one core at the CPU's widest vector width, measured
    /// in this process, in GFLOP/s.
    pub fma_peak_gflops: f64,
    /// The samples per second one core would train at if the step's matrix products ran at
    /// `fma_peak_gflops` and nothing else took time.
    pub fma_bound_samples_per_sec: f64,
    /// When the products run on a wider set than the portable one: the GEMM-only rate of the
    /// same products on the portable set (`avx2+fma`), measured interleaved with the others.
    pub gemm_portable_samples_per_sec: Option<f64>,
    /// Median over repetitions of (GEMM-only rate / portable GEMM-only rate).
    pub gemm_speedup_over_portable: Option<f64>,
    /// The machine's 1-minute load average when the measurement started (Linux only): above
    /// the number of cores, other processes shared the CPU and every figure is lower.
    pub load_average: Option<f64>,
}

impl BenchReport {
    /// A plain-text table of the report.
    pub fn table(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(|w| w.to_string()).collect();
        let mut t = String::new();
        let _ = writeln!(
            t,
            "network {} {}, batch {}, f32, SGD, {} thread; median of {} × {} steps",
            widths.join("-"),
            self.activation,
            self.batch,
            self.threads,
            self.reps,
            self.steps
        );
        let _ = writeln!(
            t,
            "{:<36} {:>12} {:>10} {:>12}",
            "condition", "samples/s", "of GEMM", "of FMA peak"
        );
        let _ = writeln!(
            t,
            "{:<36} {:>12.0} {:>10} {:>12} ({:.1} GFLOP/s of one core at {})",
            "FMA-peak bound",
            self.fma_bound_samples_per_sec,
            "",
            "1.00",
            self.fma_peak_gflops,
            self.cpu_kernels
        );
        let _ = writeln!(
            t,
            "{:<36} {:>12.0} {:>10} {:>12.2} ({:.1} MFLOP/step at {:.1} GFLOP/s)",
            "GEMM-only bound",
            self.gemm_bound_samples_per_sec,
            "1.00",
            self.gemm_bound_samples_per_sec / self.fma_bound_samples_per_sec,
            self.gemm_mflop_per_step,
            self.gemm_gflops
        );
        if let (Some(p), Some(r)) = (
            self.gemm_portable_samples_per_sec,
            self.gemm_speedup_over_portable,
        ) {
            let _ = writeln!(
                t,
                "{:<36} {:>12.0} {:>10.2} {:>12.2} (the products on avx2+fma; native is {r:.2}×)",
                "GEMM-only, portable kernels",
                p,
                1.0 / r,
                p / self.fma_bound_samples_per_sec,
            );
        }
        for c in &self.conditions {
            let _ = writeln!(
                t,
                "{:<36} {:>12.0} {:>10.2} {:>12.2}",
                c.condition, c.samples_per_sec, c.gemm_ratio, c.fma_share
            );
        }
        let mut notes = vec![format!(
            "kernels: {} ({} mode; element-wise {})",
            self.kernels,
            self.kernel_mode,
            if self.wide_simd {
                self.cpu_kernels.as_str()
            } else {
                "baseline"
            }
        )];
        if let Some(l) = self.load_average {
            notes.push(format!("load average at start {l:.2}"));
        }
        let _ = writeln!(t, "{}", notes.join("; "));
        if let Some(s) = &self.sweep {
            let _ = writeln!(
                t,
                "sweep of {} runs × {} steps: {:.2} s on 1 thread, {:.2} s on 2 threads, \
                 speed-up {:.2}×",
                s.runs, s.steps, s.seconds_1_thread, s.seconds_2_threads, s.speedup
            );
            if let (Some(c1), Some(c2), Some(cores)) = (
                s.cpu_seconds_1_thread,
                s.cpu_seconds_2_threads,
                s.cores_used_2_threads,
            ) {
                let _ = writeln!(
                    t,
                    "  CPU time {c1:.2} s on 1 thread, {c2:.2} s on 2 threads (ratio {:.2}); \
                     the 2-thread sweep ran on {cores:.2} cores on average",
                    c2 / c1
                );
            }
        }
        t
    }
}

/// The median of `v` (the mean of the middle two for an even count); NaN for an empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => s[n / 2],
        _ => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

/// The matrix products of one training step of a dense network, with their operands
/// preallocated: forward `Z = X W` for every layer, weight gradients `dW = Xᵀ G` for every
/// layer, input gradients `G_X = G Wᵀ` for every layer but the first. The transposes are
/// strided views, as in [`crate::Mlp`], so the products are the ones the step performs.
pub struct GemmStep {
    x: Vec<Array2<f32>>,
    w: Vec<Array2<f32>>,
    z: Vec<Array2<f32>>,
    g: Vec<Array2<f32>>,
    dw: Vec<Array2<f32>>,
    gx: Vec<Array2<f32>>,
    batch: usize,
    kernels: ipbn_math::kernels::KernelSet,
}

impl GemmStep {
    /// Buffers for a network with layer `widths` (input first, at least two entries) and
    /// `batch` rows, filled with fixed values of the sizes met in training.
    pub fn new(widths: &[usize], batch: usize) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) || batch == 0 {
            return Err(ConfigError::new(
                "widths",
                "give at least an input and an output width, all ≥ 1, and a batch ≥ 1",
            )
            .into());
        }
        let fill = |r: usize, c: usize, scale: f32, salt: usize| {
            Array2::from_shape_fn((r, c), |(i, j)| {
                let h = (i.wrapping_mul(7919) ^ j.wrapping_mul(104_729) ^ salt) % 1000;
                scale * (h as f32 / 1000.0 - 0.3)
            })
        };
        let layers = widths.len() - 1;
        let mut s = GemmStep {
            x: Vec::with_capacity(layers),
            w: Vec::with_capacity(layers),
            z: Vec::with_capacity(layers),
            g: Vec::with_capacity(layers),
            dw: Vec::with_capacity(layers),
            gx: Vec::with_capacity(layers),
            batch,
            kernels: ipbn_math::kernels::product_kernels(),
        };
        for l in 0..layers {
            let (fi, fo) = (widths[l], widths[l + 1]);
            s.x.push(fill(batch, fi, 1.0, l));
            s.w.push(fill(fi, fo, 0.1, l + 17));
            s.z.push(Array2::zeros((batch, fo)));
            s.g.push(fill(batch, fo, 1e-3, l + 31));
            s.dw.push(Array2::zeros((fi, fo)));
            s.gx.push(Array2::zeros((batch, fi)));
        }
        Ok(s)
    }

    /// The same products on kernel set `set` instead of the one the training steps use
    /// (for comparing kernel sets in one process).
    pub fn on_kernels(mut self, set: ipbn_math::kernels::KernelSet) -> Self {
        self.kernels = set;
        self
    }

    /// Floating-point operations of one step (two per multiply-add).
    pub fn flops(&self) -> f64 {
        let b = self.batch as f64;
        self.w
            .iter()
            .enumerate()
            .map(|(l, w)| {
                let (fi, fo) = (w.nrows() as f64, w.ncols() as f64);
                let products = if l == 0 { 2.0 } else { 3.0 };
                products * 2.0 * b * fi * fo
            })
            .sum()
    }

    /// Runs the products of one step.
    pub fn step(&mut self) {
        for l in 0..self.w.len() {
            ipbn_math::gemm::gemm_on(
                self.kernels,
                1.0,
                &self.x[l],
                &self.w[l],
                0.0,
                &mut self.z[l],
            );
        }
        for l in (0..self.w.len()).rev() {
            ipbn_math::gemm::gemm_on(
                self.kernels,
                1.0,
                &self.x[l].t(),
                &self.g[l],
                0.0,
                &mut self.dw[l],
            );
            if l > 0 {
                ipbn_math::gemm::gemm_on(
                    self.kernels,
                    1.0,
                    &self.g[l],
                    &self.w[l].t(),
                    0.0,
                    &mut self.gx[l],
                );
            }
        }
    }
}

fn check_options(opts: &BenchOptions) -> Result<()> {
    if opts.steps == 0 {
        return Err(ConfigError::new("steps", "give at least 1 timed step per repetition").into());
    }
    if opts.block == 0 {
        return Err(ConfigError::new("block", "give at least 1 step per block").into());
    }
    if opts.reps == 0 {
        return Err(ConfigError::new("reps", "give at least 1 repetition").into());
    }
    if let Some(s) = &opts.sweep {
        if s.runs == 0 || s.steps == 0 || s.reps == 0 {
            return Err(ConfigError::new(
                "sweep",
                "the sweep needs at least 1 run, 1 step per run and 1 repetition",
            )
            .into());
        }
    }
    Ok(())
}

/// The Ioffe & Szegedy configuration (the defaults of [`TrainConfig`]) under `condition`.
pub fn ioffe_config(condition: &Condition) -> TrainConfig {
    TrainConfig {
        condition: condition.clone(),
        ..TrainConfig::default()
    }
}

/// A network in training on consecutive batches of a dataset, timed a repetition at a time.
struct Trainee {
    net: crate::Mlp<f32>,
    ws: crate::Workspace<f32>,
    batch: usize,
    lr: f32,
    momentum: f32,
    next: usize,
}

impl Trainee {
    fn new(cfg: &TrainConfig, data: &Split) -> Result<Self> {
        cfg.validate_for(data)?;
        let net = build_network(cfg, data.train.features(), data.train.classes)?;
        let ws = net.workspace(cfg.batch, true);
        Ok(Trainee {
            net,
            ws,
            batch: cfg.batch,
            lr: cfg.lr as f32,
            momentum: cfg.momentum as f32,
            next: 0,
        })
    }

    fn steps(&mut self, data: &Split, steps: usize) -> Result<()> {
        let batches = data.train.len() / self.batch;
        for _ in 0..steps {
            let (a, b) = (self.next * self.batch, (self.next + 1) * self.batch);
            let x = data.train.inputs.slice(s![a..b, ..]);
            let y = &data.train.labels[a..b];
            self.net
                .train_step(x, y, &mut self.ws, self.lr, self.momentum)?;
            self.next = (self.next + 1) % batches;
        }
        Ok(())
    }
}

fn timed<E>(f: impl FnOnce() -> std::result::Result<(), E>) -> std::result::Result<f64, E> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

/// Measures everything [`BenchOptions`] asks for on the shipped MNIST subset.
pub fn run_bench(opts: &BenchOptions) -> Result<BenchReport> {
    check_options(opts)?;
    let data = data::load_shipped()?;
    run_bench_with_data(opts, &data)
}

/// As [`run_bench`], on `data` (which needs 784 features and 10 classes only in the sense that
/// the network is built for whatever it has).
pub fn run_bench_with_data(opts: &BenchOptions, data: &Split) -> Result<BenchReport> {
    check_options(opts)?;
    let base = TrainConfig::default();
    let mut widths = vec![data.train.features()];
    widths.extend(&base.hidden);
    widths.push(data.train.classes);
    let batch = base.batch;
    let samples = (opts.steps * batch) as f64;
    let load_average = load_average();

    let mut gemm = GemmStep::new(&widths, batch)?;
    // The same products on the portable kernel set, when the training steps use another.
    let portable_set = detected_kernels().min(KernelSet::Avx2Fma);
    let mut gemm_port = match product_kernels() == portable_set {
        true => None,
        false => Some(GemmStep::new(&widths, batch)?.on_kernels(portable_set)),
    };
    let has_port = usize::from(gemm_port.is_some());
    let mut trainees = opts
        .conditions
        .iter()
        .map(|c| Trainee::new(&ioffe_config(c), data))
        .collect::<Result<Vec<_>>>()?;
    let first_peak = ipbn_math::peak::measure_fma_peak(0.002, 100);
    for _ in 0..opts.warmup {
        gemm.step();
        if let Some(g) = &mut gemm_port {
            g.step();
        }
    }
    for t in &mut trainees {
        t.steps(data, opts.warmup)?;
    }
    let mut gemm_reps = Vec::with_capacity(opts.reps);
    let mut port_reps = Vec::with_capacity(opts.reps);
    let mut cond_reps = vec![Vec::with_capacity(opts.reps); trainees.len()];
    for _ in 0..opts.reps {
        // Each repetition alternates short blocks of every series, so that a change in the
        // machine's load during the repetition is shared by all of them.
        // Series 0 is the bound, then the portable bound if measured, then the conditions;
        // each round starts with the next series, so no series always follows the same one.
        let series = trainees.len() + 1 + has_port;
        let mut secs = vec![0.0; series];
        let mut left = opts.steps;
        let mut round = 0;
        while left > 0 {
            let block = left.min(opts.block);
            left -= block;
            for k in 0..series {
                let i = (round + k) % series;
                secs[i] += if i <= has_port {
                    let g = match (i, &mut gemm_port) {
                        (1, Some(g)) => g,
                        _ => &mut gemm,
                    };
                    timed(|| {
                        for _ in 0..block {
                            g.step();
                        }
                        Ok::<(), TrainError>(())
                    })?
                } else {
                    let t = &mut trainees[i - 1 - has_port];
                    timed(|| t.steps(data, block))?
                };
            }
            round += 1;
        }
        let (gemm_secs, cond_secs) = (secs[0], secs.split_off(1 + has_port));
        gemm_reps.push(samples / gemm_secs);
        if has_port == 1 {
            port_reps.push(samples / secs[1]);
        }
        for (reps, secs) in cond_reps.iter_mut().zip(cond_secs) {
            reps.push(samples / secs);
        }
    }
    let gemm_bound = median(&gemm_reps);
    // The peak after the steps too, in case the clock had not yet settled before them.
    let peak = first_peak
        .gflops
        .max(ipbn_math::peak::measure_fma_peak(0.002, 100).gflops);
    let fma_bound = peak * 1e9 / gemm.flops() * batch as f64;
    let conditions = opts
        .conditions
        .iter()
        .zip(cond_reps)
        .map(|(c, reps)| {
            let ratios: Vec<f64> = reps.iter().zip(&gemm_reps).map(|(r, g)| r / g).collect();
            ConditionThroughput {
                condition: c.to_string(),
                samples_per_sec: median(&reps),
                gemm_ratio: median(&ratios),
                fma_share: median(&reps) / fma_bound,
                reps,
            }
        })
        .collect();
    let (gemm_portable_samples_per_sec, gemm_speedup_over_portable) = match port_reps.is_empty() {
        true => (None, None),
        false => {
            let r: Vec<f64> = gemm_reps
                .iter()
                .zip(&port_reps)
                .map(|(g, p)| g / p)
                .collect();
            (Some(median(&port_reps)), Some(median(&r)))
        }
    };
    let sweep = match &opts.sweep {
        Some(s) => Some(measure_sweep(s, data)?),
        None => None,
    };
    Ok(BenchReport {
        widths,
        activation: base.activation.to_string(),
        batch,
        threads: 1,
        steps: opts.steps,
        reps: opts.reps,
        gemm_mflop_per_step: gemm.flops() / 1e6,
        gemm_bound_samples_per_sec: gemm_bound,
        gemm_gflops: gemm_bound / batch as f64 * gemm.flops() / 1e9,
        gemm_reps,
        conditions,
        sweep,
        wide_simd: ipbn_math::kernels::wide_simd(),
        kernels: ipbn_math::kernels::product_kernels().to_string(),
        kernel_mode: match ipbn_math::kernels::kernel_mode() {
            ipbn_math::kernels::KernelMode::Native => "native",
            ipbn_math::kernels::KernelMode::Portable => "portable",
        }
        .to_string(),
        cpu_kernels: first_peak.kernels.to_string(),
        fma_peak_gflops: peak,
        fma_bound_samples_per_sec: fma_bound,
        gemm_portable_samples_per_sec,
        gemm_speedup_over_portable,
        load_average,
    })
}

/// The 1-minute load average from `/proc/loadavg`, where there is one.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A scratch folder removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("ipbn-bench-{}-{tag}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Wall time of a sweep of `opts.runs` independent runs (the Ioffe network, `plain`, seeds
/// 0, 1, ...) on rayon pools of 1 and of 2 threads, each run writing its result file as in
/// `ipbn sweep`; the median of `opts.reps` repetitions per thread count.
pub fn measure_sweep(opts: &SweepBenchOptions, data: &Split) -> Result<SweepSpeedup> {
    let sweep = SweepConfig {
        name: String::from("bench"),
        base: TrainConfig {
            steps: opts.steps,
            eval_every: opts.steps,
            ..TrainConfig::default()
        },
        grid: Grid {
            seeds: (0..opts.runs as u64).collect(),
            ..Grid::default()
        },
        ..SweepConfig::default()
    };
    let pool = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| TrainError::io("rayon thread pool", std::io::Error::other(e)))
    };
    let pools = [pool(1)?, pool(2)?];
    let mut secs = [Vec::new(), Vec::new()];
    let mut cpu = [Vec::new(), Vec::new()];
    for rep in 0..opts.reps {
        // Alternate the order so neither thread count always runs first.
        let order = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let dir = ScratchDir::new(&format!("sweep{i}-{rep}"))?;
            let c0 = process_cpu_seconds();
            let t = Instant::now();
            pools[i].install(|| {
                run_sweep_with_data(&sweep, data, &dir.0, SweepOptions::default(), &|_| {})
            })?;
            secs[i].push(t.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (c0, process_cpu_seconds()) {
                cpu[i].push(b - a);
            }
        }
    }
    let (one, two) = (median(&secs[0]), median(&secs[1]));
    let cpu_median = |v: &[f64]| (v.len() == opts.reps).then(|| median(v));
    let (cpu1, cpu2) = (cpu_median(&cpu[0]), cpu_median(&cpu[1]));
    Ok(SweepSpeedup {
        runs: opts.runs,
        steps: opts.steps,
        seconds_1_thread: one,
        seconds_2_threads: two,
        speedup: one / two,
        cpu_seconds_1_thread: cpu1,
        cpu_seconds_2_threads: cpu2,
        cores_used_2_threads: cpu2.map(|c| c / two),
    })
}

/// CPU time used so far by every thread of this process, in seconds, from the scheduler's
/// nanosecond counters in `/proc/self/task/*/schedstat` (Linux); `None` where they are not
/// available.
pub fn process_cpu_seconds() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 * 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ioffe_step_has_26_4_mflop() {
        let g = GemmStep::new(&[784, 100, 100, 100, 10], 60).unwrap();
        // forward and dW: 2·60·99,400 each; input gradients: 2·60·21,000.
        assert_eq!(g.flops(), 2.0 * 60.0 * (2.0 * 99_400.0 + 21_000.0));
        assert!((g.flops() / 1e6 - 26.376).abs() < 1e-9);
        assert!(GemmStep::new(&[784], 60).is_err());
        assert!(GemmStep::new(&[784, 10], 0).is_err());
    }

    #[test]
    fn gemm_step_computes_the_products() {
        let mut g = GemmStep::new(&[5, 4, 3], 6).unwrap();
        g.step();
        let z1 = g.x[1].dot(&g.w[1]);
        let dw0 = g.x[0].t().dot(&g.g[0]);
        let gx1 = g.g[1].dot(&g.w[1].t());
        assert!((&g.z[1] - &z1).iter().all(|d| d.abs() < 1e-6));
        assert!((&g.dw[0] - &dw0).iter().all(|d| d.abs() < 1e-6));
        assert!((&g.gx[1] - &gx1).iter().all(|d| d.abs() < 1e-6));
    }

    #[test]
    fn a_tiny_bench_reports_every_condition() {
        let data = data::synthetic::blobs_split(240, 60, 12, 3, 2.0, 1).unwrap();
        let opts = BenchOptions {
            steps: 3,
            warmup: 1,
            reps: 2,
            // Enough sweep steps (tens of milliseconds) that the CPU time read from the
            // kernel's tick counters is not zero on a busy machine.
            sweep: Some(SweepBenchOptions {
                runs: 2,
                steps: 400,
                reps: 1,
            }),
            ..BenchOptions::default()
        };
        let r = run_bench_with_data(&opts, &data).unwrap();
        assert_eq!(r.widths, [12, 100, 100, 100, 3]);
        assert_eq!(r.conditions.len(), 4);
        for c in &r.conditions {
            assert_eq!(c.reps.len(), 2);
            assert!(c.samples_per_sec > 0.0 && c.gemm_ratio > 0.0);
        }
        let s = r.sweep.as_ref().unwrap();
        assert!(s.seconds_1_thread > 0.0 && s.speedup > 0.0);
        if cfg!(target_os = "linux") {
            assert!(s.cpu_seconds_1_thread.unwrap() > 0.0);
            assert!(s.cores_used_2_threads.unwrap() > 0.0);
        }
        assert!(r.table().contains("ip+affine:infomax-logistic"));
        let bad = BenchOptions {
            reps: 0,
            ..BenchOptions::default()
        };
        assert!(run_bench_with_data(&bad, &data).is_err());
    }
}
