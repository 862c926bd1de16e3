//! `equivalence`: is BN an IP unit?
//!
//! * (a) A `BatchNorm` layer in training mode with random γ, β on a batch whose features
//!   have very different means and spreads, against the IP form γ(α_B x + k_B) + β with
//!   (α_B, k_B) computed independently from the batch's mean and biased variance
//!   (`ipbn_math::mapping::bn_to_ip`): every point lies on the identity line. The error is
//!   measured as in the `bn-is-ip` claim: |BN − IP| divided by the size of the terms the IP
//!   form adds, |γ|(|α_B x| + |k_B|) + |β|.
//! * (b) The registry's moment-matching rule (`moment`) stepped by SGD on a stationary stream:
//!   its α and k converge to BN's 1/√(var + ε) and −mean·α, the per-batch values of which
//!   are shown as dots.
//! * (c) The claims table: every claim of `ipbn_train::claims::all()` (the neurons claims plus the network-level ones) run with many random cases.

use super::experiment::{num_text, Experiment, Produced, Progress};
use super::unit_common::{log_records, rule_label};
use crate::error::ReportError;
use crate::figure::FigureContext;
use crate::plot::{
    self, palette, Align, Area, LegendPos, MarkerShape, PlotError, RefLine, Scatter, Series,
    TablePanel, XyChart,
};
use ipbn_math::mapping::bn_to_ip;
use ipbn_math::seed::derive_seed;
use ipbn_math::stats::mean_var;
use ipbn_math::Activation;
use ipbn_neurons::claims::ClaimReport;
use ipbn_neurons::rules::MomentMatching;
use ipbn_neurons::single_unit::{simulate_unit, InputDist, UnitSgd};
use ipbn_neurons::{registry, BatchNorm, Mode};
use ndarray::{Array1, Array2};
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::StandardNormal;
use rayon::prelude::*;
use serde_json::json;

/// Settings of the `equivalence` figure.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivalenceConfig {
    /// Samples in the BN batch of panel (a).
    pub batch: usize,
    /// Features of that batch.
    pub features: usize,
    /// Stream of panel (b).
    pub stream: InputDist,
    /// SGD for the moment rule in panel (b).
    pub sgd: UnitSgd,
    /// Steps in panel (b).
    pub steps: usize,
    /// Spec of the moment-matching rule.
    pub moment_spec: String,
    /// Random cases per claim in panel (c).
    pub claim_cases: u32,
    /// Seed of the claim runner (as `ipbn claims --seed`).
    pub claim_seed: u64,
    /// Base seed of panels (a) and (b).
    pub seed: u64,
}

impl EquivalenceConfig {
    /// The full protocol.
    pub fn full() -> Self {
        EquivalenceConfig {
            batch: 64,
            features: 6,
            stream: InputDist::Gaussian { mean: 3.0, sd: 2.0 },
            sgd: UnitSgd::fixed(0.02, 32, (1.0, 0.0)),
            steps: 5_000,
            moment_spec: String::from("moment"),
            claim_cases: 1_000,
            claim_seed: 2015,
            seed: 2015,
        }
    }

    /// Small settings for tests.
    pub fn quick() -> Self {
        EquivalenceConfig {
            steps: 400,
            claim_cases: 50,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), ReportError> {
        self.stream.validate()?;
        let bad = |m: &str| Err(ReportError::Config(format!("equivalence: {m}")));
        if self.batch < 2 || self.features == 0 {
            return bad("the BN batch needs ≥ 2 samples and ≥ 1 feature");
        }
        if self.steps == 0
            || self.sgd.batch < 2
            || !(self.sgd.eta.is_finite() && self.sgd.eta > 0.0)
        {
            return bad("steps ≥ 1, SGD batch ≥ 2 and a finite eta > 0 are needed");
        }
        if self.claim_cases == 0 {
            return bad("claim_cases must be ≥ 1");
        }
        Ok(())
    }
}

/// The `equivalence` figure.
#[derive(Clone, Debug, Default)]
pub struct Equivalence {
    /// Settings; `None` picks [`EquivalenceConfig::full`] or `quick` from the context.
    pub config: Option<EquivalenceConfig>,
}

/// Panel (a)'s numbers.
struct BnVsIp {
    ip: Array2<f64>,
    bn: Array2<f64>,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    means: Vec<f64>,
    sds: Vec<f64>,
    worst_scaled: f64,
    worst_abs: f64,
    worst_sigmoid: f64,
}

fn bn_vs_ip(cfg: &EquivalenceConfig) -> Result<BnVsIp, ReportError> {
    let mut rng = ipbn_math::seed::rng(derive_seed(cfg.seed, 0));
    let (m, n) = (cfg.batch, cfg.features);
    let means: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
    let sds: Vec<f64> = (0..n)
        .map(|_| 10f64.powf(rng.random_range(-1.0..1.0)))
        .collect();
    let mut x = Array2::<f64>::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            let z: f64 = rng.sample(StandardNormal);
            x[[i, j]] = means[j] + sds[j] * z;
        }
    }
    let gamma: Vec<f64> = (0..n)
        .map(|_| {
            let g: f64 = rng.random_range(0.5..2.0);
            if rng.random::<bool>() {
                g
            } else {
                -g
            }
        })
        .collect();
    let beta: Vec<f64> = (0..n)
        .map(|_| rng.sample::<f64, _>(StandardNormal))
        .collect();
    let mut bn = BatchNorm::<f64>::new(n);
    bn.gamma = Array1::from(gamma.clone());
    bn.beta = Array1::from(beta.clone());
    let out = bn
        .forward(x.view(), Mode::Train)
        .map_err(|source| ReportError::Neurons {
            context: "equivalence: BN forward failed".into(),
            usage: false,
            source,
        })?;
    let mut ip = Array2::<f64>::zeros((m, n));
    let mut worst_scaled = 0.0f64;
    let mut worst_abs = 0.0f64;
    let mut worst_sigmoid = 0.0f64;
    for j in 0..n {
        let (mean, var) = mean_var(x.column(j)).map_err(|source| ReportError::Math {
            context: "equivalence: batch statistics".into(),
            source,
        })?;
        let (a, k) = bn_to_ip(mean, var, bn.eps);
        for i in 0..m {
            let v = gamma[j] * (a * x[[i, j]] + k) + beta[j];
            ip[[i, j]] = v;
            let d = (out[[i, j]] - v).abs();
            let scale = gamma[j].abs() * ((a * x[[i, j]]).abs() + k.abs()) + beta[j].abs();
            worst_abs = worst_abs.max(d);
            worst_scaled = worst_scaled.max(d / scale.max(f64::MIN_POSITIVE));
            let s = Activation::Sigmoid;
            let ds = (s.f(out[[i, j]]) - s.f(v)).abs() / s.f(v).abs().max(f64::MIN_POSITIVE);
            worst_sigmoid = worst_sigmoid.max(ds);
        }
    }
    Ok(BnVsIp {
        ip,
        bn: out,
        gamma,
        beta,
        means,
        sds,
        worst_scaled,
        worst_abs,
        worst_sigmoid,
    })
}

/// Panel (b)'s numbers.
struct MomentRun {
    /// Recorded steps (log-spaced, from 0) and α, k there.
    steps: Vec<f64>,
    alpha: Vec<f64>,
    k: Vec<f64>,
    batch_steps: Vec<f64>,
    batch_alpha: Vec<f64>,
    batch_k: Vec<f64>,
    target: (f64, f64),
    /// Mean of BN's per-batch (α_B, k_B) over many batches: where a rule that averages the
    /// per-batch gain settles.
    batch_mean: (f64, f64),
    tail_mean: (f64, f64),
    eps: f64,
    rule_label: String,
}

fn moment_run(cfg: &EquivalenceConfig) -> Result<MomentRun, ReportError> {
    let spec = registry::parse_spec(&cfg.moment_spec).map_err(|source| ReportError::Neurons {
        context: "equivalence: moment_spec".into(),
        usage: true,
        source,
    })?;
    let rule = spec.rule;
    let eps = rule
        .params()
        .iter()
        .find(|p| p.name == "eps")
        .map_or(1e-5, |p| p.value);
    let record_at: Vec<usize> = (0..=cfg.steps).collect();
    let seed = derive_seed(cfg.seed, 1);
    let traj = simulate_unit(
        rule.as_ref(),
        Activation::Sigmoid,
        &cfg.stream,
        &cfg.sgd,
        cfg.steps,
        &record_at,
        seed,
    );
    if let Some(s) = traj.diverged_at {
        return Err(ReportError::Run(format!(
            "equivalence: the moment rule diverged at step {s}; lower sgd.eta"
        )));
    }
    // BN's per-batch values on an independent stream of the same distribution.
    let mm = MomentMatching::new(1.0, 1.0, 0.0, eps).map_err(|source| ReportError::Neurons {
        context: "equivalence".into(),
        usage: false,
        source,
    })?;
    let mut rng = ipbn_math::seed::rng(derive_seed(cfg.seed, 2));
    // 150 log-spaced steps, matching the log step axis of the panel.
    let mut bsteps = Vec::new();
    let mut batch_alpha = Vec::new();
    let mut batch_k = Vec::new();
    let mut at: Vec<usize> = (0..150)
        .map(|i| {
            10f64
                .powf((cfg.steps as f64).log10() * f64::from(i) / 149.0)
                .round() as usize
        })
        .collect();
    at.dedup();
    for t in at {
        let xb: Array1<f64> = (0..cfg.sgd.batch)
            .map(|_| cfg.stream.sample(&mut rng))
            .collect();
        if let Some((a, k)) = mm.batch_gain_bias(xb.view()) {
            bsteps.push(t as f64);
            batch_alpha.push(a);
            batch_k.push(k);
        }
    }
    // The mean of α_B and k_B over many independent batches of the same size.
    let mut rng = ipbn_math::seed::rng(derive_seed(cfg.seed, 3));
    let n_batches = 20_000;
    let (mut sa, mut sk, mut cnt) = (0.0, 0.0, 0usize);
    for _ in 0..n_batches {
        let xb: Array1<f64> = (0..cfg.sgd.batch)
            .map(|_| cfg.stream.sample(&mut rng))
            .collect();
        if let Some((a, k)) = mm.batch_gain_bias(xb.view()) {
            sa += a;
            sk += k;
            cnt += 1;
        }
    }
    let batch_mean = (sa / cnt.max(1) as f64, sk / cnt.max(1) as f64);
    let (m, s) = (cfg.stream.mean(), cfg.stream.sd());
    let (ta, tk) = bn_to_ip(m, s * s, eps);
    let tail = traj.alpha.len() * 4 / 5;
    let avg = |v: &[f64]| v[tail..].iter().sum::<f64>() / (v.len() - tail).max(1) as f64;
    // Every step was recorded for the tail mean; keep 400 log-spaced ones for the drawing.
    let keep = log_records(cfg.steps, 400);
    Ok(MomentRun {
        steps: keep.iter().map(|&s| s as f64).collect(),
        batch_steps: bsteps,
        tail_mean: (avg(&traj.alpha), avg(&traj.k)),
        alpha: keep.iter().map(|&s| traj.alpha[s]).collect(),
        k: keep.iter().map(|&s| traj.k[s]).collect(),
        batch_alpha,
        batch_k,
        target: (ta, tk),
        batch_mean,
        eps,
        rule_label: rule_label(rule.as_ref()),
    })
}

impl Experiment for Equivalence {
    const ID: &'static str = "equivalence";
    const QUESTION: &'static str = "Is BN an IP unit?";
    const SOURCE: &'static str = "the talk, section III";
    type Config = EquivalenceConfig;
    const FULL: fn() -> EquivalenceConfig = EquivalenceConfig::full;
    const QUICK: fn() -> EquivalenceConfig = EquivalenceConfig::quick;
    const TRAINS_NETWORKS: bool = false;

    fn given(&self) -> Option<&EquivalenceConfig> {
        self.config.as_ref()
    }

    fn produce(
        &self,
        ctx: &FigureContext,
        cfg: &EquivalenceConfig,
    ) -> Result<Produced, ReportError> {
        cfg.validate()?;
        let list = ipbn_train::claims::all();
        let progress = Progress::start(ctx, list.len() + 2);
        let a = bn_vs_ip(cfg)?;
        progress.tick();
        let b = moment_run(cfg)?;
        progress.tick();
        let reports: Vec<ClaimReport> = list
            .par_iter()
            .map(|c| {
                let r = (c.run)(cfg.claim_cases, cfg.claim_seed);
                progress.tick();
                r
            })
            .collect();
        let holds = reports.iter().filter(|r| r.holds).count();
        let failing: Vec<&str> = reports
            .iter()
            .filter(|r| !r.holds)
            .map(|r| r.id.as_str())
            .collect();
        let gap = |v: f64, t: f64| (v - t).abs() / t.abs().max(1e-12);
        let finding = format!(
            "BN in training mode and the IP form θ(γ(α_B x + k_B) + β) agree to {:.1e} (worst error relative to the terms added; {:.1e} after a sigmoid) on a {}×{} batch; the moment-matching rule settles at α = {:.4}, k = {:.4}, {:.2} % and {:.2} % from BN's 1/√(var+ε) = {:.4} and −mean·α = {:.4}, and {:.2} % and {:.2} % from the average of BN's per-batch α_B, k_B over batches of {} (it averages the gain, which exceeds 1/√var by O(1/batch)); {} of {} claims hold with {} cases each{}.",
            a.worst_scaled,
            a.worst_sigmoid,
            cfg.batch,
            cfg.features,
            b.tail_mean.0,
            b.tail_mean.1,
            100.0 * gap(b.tail_mean.0, b.target.0),
            100.0 * gap(b.tail_mean.1, b.target.1),
            b.target.0,
            b.target.1,
            100.0 * gap(b.tail_mean.0, b.batch_mean.0),
            100.0 * gap(b.tail_mean.1, b.batch_mean.1),
            cfg.sgd.batch,
            holds,
            reports.len(),
            cfg.claim_cases,
            if failing.is_empty() {
                String::new()
            } else {
                format!(" (failing: {})", failing.join(", "))
            }
        );

        let files = draw(ctx, Self::ID, cfg, &a, &b, &reports)?;

        let fields = vec![
            (
                "seeds",
                json!({"panels": [derive_seed(cfg.seed, 0), derive_seed(cfg.seed, 1), derive_seed(cfg.seed, 2)], "claims": cfg.claim_seed}),
            ),
            (
                "bn_vs_ip",
                json!({
                    "feature_means": a.means,
                    "feature_sds": a.sds,
                    "gamma": a.gamma,
                    "beta": a.beta,
                    "ip_form": a.ip.columns().into_iter().map(|c| c.to_vec()).collect::<Vec<_>>(),
                    "bn_output": a.bn.columns().into_iter().map(|c| c.to_vec()).collect::<Vec<_>>(),
                    "worst_error_scaled": a.worst_scaled,
                    "worst_error_abs": a.worst_abs,
                    "worst_relative_error_after_sigmoid": a.worst_sigmoid,
                }),
            ),
            (
                "moment_rule",
                json!({
                    "rule": b.rule_label,
                    "eps": b.eps,
                    "step": b.steps,
                    "alpha": b.alpha,
                    "k": b.k,
                    "bn_batch_step": b.batch_steps,
                    "bn_batch_alpha": b.batch_alpha,
                    "bn_batch_k": b.batch_k,
                    "bn_target": [b.target.0, b.target.1],
                    "bn_per_batch_mean": [b.batch_mean.0, b.batch_mean.1],
                    "last_fifth_mean": [num_text(b.tail_mean.0), num_text(b.tail_mean.1)],
                }),
            ),
            (
                "claims",
                json!(reports
                    .iter()
                    .map(|r| json!({
                        "id": r.id,
                        "cases": r.cases,
                        "worst_error": num_text(r.worst_error),
                        "tolerance": num_text(r.tolerance),
                        "holds": r.holds,
                        "detail": r.detail,
                    }))
                    .collect::<Vec<_>>()),
            ),
        ];
        Ok(Produced {
            finding,
            files,
            fields,
            verdicts: Vec::new(),
            tidy: tidy_rows(cfg, &a, &b, &reports),
        })
    }
}

/// The figure's numbers in long format: panel (a)'s worst errors, panel (b)'s trajectories
/// (the moment rule's α and k, BN's per-batch α_B and k_B, and BN's targets), and panel (c)'s
/// claims (worst error, tolerance, whether it holds: 1 or 0).
fn tidy_rows(
    cfg: &EquivalenceConfig,
    a: &BnVsIp,
    b: &MomentRun,
    reports: &[ClaimReport],
) -> Vec<crate::tidy::TidyRow> {
    let mut out = Vec::new();
    let mut push = |condition: &str,
                    seed: u64,
                    step: f64,
                    metric: &str,
                    value: f64,
                    panel: &str,
                    outcome: &str| {
        out.push(crate::tidy::TidyRow {
            condition: condition.to_string(),
            seed,
            step: step.max(0.0) as u64,
            metric: metric.to_string(),
            value,
            keys: vec![("panel".to_string(), panel.to_string())],
            outcome: outcome.to_string(),
        });
    };
    let sa = derive_seed(cfg.seed, 0);
    push(
        "bn-vs-ip-form",
        sa,
        0.0,
        "worst_error_scaled",
        a.worst_scaled,
        "a",
        "finished",
    );
    push(
        "bn-vs-ip-form",
        sa,
        0.0,
        "worst_error_abs",
        a.worst_abs,
        "a",
        "finished",
    );
    push(
        "bn-vs-ip-form",
        sa,
        0.0,
        "worst_relative_error_after_sigmoid",
        a.worst_sigmoid,
        "a",
        "finished",
    );
    let sb = derive_seed(cfg.seed, 1);
    for ((&st, &al), &k) in b.steps.iter().zip(&b.alpha).zip(&b.k) {
        push(&b.rule_label, sb, st, "alpha", al, "b", "finished");
        push(&b.rule_label, sb, st, "k", k, "b", "finished");
    }
    let sc = derive_seed(cfg.seed, 2);
    for ((&st, &al), &k) in b.batch_steps.iter().zip(&b.batch_alpha).zip(&b.batch_k) {
        push("bn-per-batch", sc, st, "alpha_B", al, "b", "finished");
        push("bn-per-batch", sc, st, "k_B", k, "b", "finished");
    }
    push("bn-target", sc, 0.0, "alpha", b.target.0, "b", "finished");
    push("bn-target", sc, 0.0, "k", b.target.1, "b", "finished");
    push(
        "bn-per-batch-mean",
        sc,
        0.0,
        "alpha_B",
        b.batch_mean.0,
        "b",
        "finished",
    );
    push(
        "bn-per-batch-mean",
        sc,
        0.0,
        "k_B",
        b.batch_mean.1,
        "b",
        "finished",
    );
    for r in reports {
        let outcome = if r.holds { "holds" } else { "fails" };
        push(
            &r.id,
            cfg.claim_seed,
            r.cases as f64,
            "worst_error",
            r.worst_error,
            "c",
            outcome,
        );
        push(
            &r.id,
            cfg.claim_seed,
            r.cases as f64,
            "tolerance",
            r.tolerance,
            "c",
            outcome,
        );
        push(
            &r.id,
            cfg.claim_seed,
            r.cases as f64,
            "holds",
            f64::from(u8::from(r.holds)),
            "c",
            outcome,
        );
    }
    out
}

fn sci(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2e}")
    } else {
        format!("{v}")
    }
}

fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &EquivalenceConfig,
    a: &BnVsIp,
    b: &MomentRun,
    reports: &[ClaimReport],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let table_rows = reports.len().max(1) as u32;
    let height = 790 + 32 * (table_rows + 2);
    plot::save_figure(&ctx.out_dir, id, 1800, height, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            "Batch normalisation is an IP unit whose gain and bias are set from each batch",
        )?;
        let (w, h) = area.dim_in_pixel();
        let top_h = 700.0_f64.min(f64::from(h) * 0.62);
        let rows = plot::split_rows(&area, &[top_h, f64::from(h) - top_h])?;
        let top = plot::split_cols(&rows[0], &[f64::from(w) * 0.5, f64::from(w) * 0.5])?;

        let pa = plot::layout::panel(&top[0], 0, "BN output against the IP form with α_B, k_B")?;
        let mut chart = XyChart::new("IP form γ(α_B x + k_B) + β", "BN output (training mode)")
            .line(RefLine::Identity(Some("identity y = x".into())))
            .note(format!("worst error (scaled): {}", sci(a.worst_scaled)))
            .note(format!("worst absolute error: {}", sci(a.worst_abs)))
            .note(format!(
                "after a sigmoid (relative): {}",
                sci(a.worst_sigmoid)
            ))
            .legend(LegendPos::Right);
        for j in 0..cfg.features {
            chart = chart.scatter(
                Scatter::new(
                    format!(
                        "feature {}: x ~ N({:.1}, {:.2}²)",
                        j + 1,
                        a.means[j],
                        a.sds[j]
                    ),
                    a.ip.column(j).to_vec(),
                    a.bn.column(j).to_vec(),
                )
                .color(palette::categorical(j))
                .shape(MarkerShape::Circle, 4),
            );
        }
        chart.draw(&pa)?;

        let pb = plot::layout::panel(
            &top[1],
            1,
            &format!("{} converging to BN's gain and bias", b.rule_label),
        )?;
        let steps_end = b.steps.last().copied().unwrap_or(1.0);
        // Step 0 (the start, α = 1, k = 0) cannot sit on the log axis: drawn from step 1.
        let (st, al, kk) = (&b.steps[1..], &b.alpha[1..], &b.k[1..]);
        XyChart::new("SGD step (batches of the stream)", "gain α and bias k")
            .log_x()
            .series(
                Series::new("moment rule: α", st.to_vec(), al.to_vec())
                    .color(palette::color_for("ip:moment")),
            )
            .series(
                Series::new("moment rule: k", st.to_vec(), kk.to_vec())
                    .color(palette::darken(palette::color_for("ip:moment"), 0.35)),
            )
            .scatter(
                Scatter::new(
                    "BN per batch: α_B (upper), k_B (lower)",
                    b.batch_steps
                        .iter()
                        .chain(&b.batch_steps)
                        .copied()
                        .collect(),
                    b.batch_alpha.iter().chain(&b.batch_k).copied().collect(),
                )
                .color(palette::BN)
                .shape(MarkerShape::Circle, 3),
            )
            .series(
                Series::new(
                    format!("mean of BN's α_B = {:.4}", b.batch_mean.0),
                    vec![1.0, steps_end],
                    vec![b.batch_mean.0; 2],
                )
                .color(palette::BN)
                .dashed(),
            )
            .series(
                Series::new(
                    format!("mean of BN's k_B = {:.4}", b.batch_mean.1),
                    vec![1.0, steps_end],
                    vec![b.batch_mean.1; 2],
                )
                .color(palette::darken(palette::BN, 0.4))
                .dashed(),
            )
            .line(RefLine::Horizontal(
                b.target.0,
                Some(format!("1/√(var+ε) = {:.4}", b.target.0)),
            ))
            .line(RefLine::Horizontal(
                b.target.1,
                Some(format!("−mean·α = {:.4}", b.target.1)),
            ))
            .legend(LegendPos::Below)
            .draw(&pb)?;

        let pc = plot::layout::panel(
            &rows[1],
            2,
            &format!(
                "claims (claims.md), {} random cases each, seed {}",
                cfg.claim_cases, cfg.claim_seed
            ),
        )?;
        let mut table = TablePanel::new([
            "claim",
            "cases tried",
            "worst error",
            "tolerance",
            "verdict",
        ])
        .align(vec![
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
        ]);
        for r in reports {
            let (verdict, color) = if r.holds {
                ("holds", palette::PASS)
            } else {
                ("FAILS", palette::FAIL)
            };
            table = table.row_colored(
                [
                    r.id.clone(),
                    r.cases.to_string(),
                    sci(r.worst_error),
                    sci(r.tolerance),
                    verdict.to_string(),
                ],
                vec![None, None, None, None, Some(color)],
            );
        }
        if reports.is_empty() {
            table = table.row(["(no claims registered)", "", "", "", ""]);
        }
        table.draw(&pc)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bn_matches_the_ip_form_to_rounding() {
        let a = bn_vs_ip(&EquivalenceConfig::quick()).unwrap();
        assert!(a.worst_scaled < 1e-12, "{}", a.worst_scaled);
        assert!(a.worst_sigmoid < 1e-12, "{}", a.worst_sigmoid);
    }

    #[test]
    fn moment_rule_converges_to_bn_values() {
        let b = moment_run(&EquivalenceConfig::quick()).unwrap();
        assert!((b.target.0 - 0.5).abs() < 1e-5 && (b.target.1 + 1.5).abs() < 1e-4);
        // The rule averages the per-batch gain: it settles at the mean of BN's α_B, k_B,
        // which exceeds 1/√var (in size) by O(1/batch), here about 4 % for batches of 32.
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(
            rel(b.tail_mean.0, b.batch_mean.0) < 0.02,
            "{:?} {:?}",
            b.tail_mean,
            b.batch_mean
        );
        assert!(
            rel(b.tail_mean.1, b.batch_mean.1) < 0.03,
            "{:?} {:?}",
            b.tail_mean,
            b.batch_mean
        );
        assert!(b.batch_mean.0 > b.target.0 && rel(b.batch_mean.0, b.target.0) < 0.08);
    }
}
