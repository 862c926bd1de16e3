//! Drawing of `vanishing-gradient`: per rule three heat maps (final accuracy, late
//! first-layer gradient, that gradient over the weight norm) from the screening, then, from
//! the confirmation runs, the mean slope per layer and the accuracy and gradient over training
//! of plain, bn and each rule's best cell, and the legend.

use super::grid::{Fate, Group, RuleGrid};
use super::VanishingConfig;
use crate::figure::FigureContext;
use crate::figures::common::{self, sig3, Average, NetCond, Outcome};
use crate::figures::experiment::count;
use crate::plot::{self, Area, HeatMap, LegendPos, PlotError, RefLine, Series, XyChart};

/// Everything the drawing needs.
pub(super) struct View<'a> {
    pub cfg: &'a VanishingConfig,
    pub seeds: usize,
    /// Seeds of each confirmation condition.
    pub confirm_seeds: usize,
    pub rules: &'a [RuleGrid],
    pub cell_g: &'a [Group],
    pub plain: &'a Group,
    /// Conditions drawn as lines (plain, bn, each rule's best cell) with their indices into
    /// `outcomes`.
    pub highlight: &'a [(NetCond, Vec<usize>)],
    /// The confirmation runs.
    pub outcomes: &'a [Outcome],
}

/// A log colour range covering every finite positive value of `f` over the cells and plain.
fn log_range(v: &View<'_>, f: &dyn Fn(&super::grid::RunM) -> f64) -> (f64, f64) {
    let vals = v
        .cell_g
        .iter()
        .chain(std::iter::once(v.plain))
        .map(|g| g.geo_mean(f))
        .filter(|x| x.is_finite() && *x > 0.0);
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if lo.is_finite() {
        (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil()),
        )
    } else {
        (1e-3, 1.0)
    }
}

/// Outcome lines written under a cell's value.
fn outcome_note(g: &Group) -> String {
    let mut s = String::new();
    let d = g.count(Fate::Diverged);
    let c = g.count(Fate::Collapsed);
    if d > 0 {
        s.push_str(&format!("\n{d} div"));
    }
    if c > 0 {
        s.push_str(&format!("\n{c} coll"));
    }
    s
}

/// The heat map of `rule` for the metric `f` (arithmetic or geometric mean over seeds).
fn heat(
    v: &View<'_>,
    rule: &RuleGrid,
    f: &dyn Fn(&super::grid::RunM) -> f64,
    geometric: bool,
    range: (f64, f64),
    scale_label: String,
    text: &dyn Fn(f64) -> String,
) -> HeatMap {
    let etas = &v.cfg.ip_lrs;
    let mut values = Vec::new();
    let mut texts = Vec::new();
    for r in 0..rule.values.len() {
        let mut row = Vec::new();
        let mut trow = Vec::new();
        for e in 0..etas.len() {
            let g = &v.cell_g[rule.cells[r * etas.len() + e]];
            let m = if geometric { g.geo_mean(f) } else { g.mean(f) };
            row.push(m);
            trow.push(format!(
                "{}{}",
                if m.is_finite() { text(m) } else { "–".into() },
                outcome_note(g)
            ));
        }
        values.push(row);
        texts.push(trow);
    }
    HeatMap {
        x_label: "intrinsic rate η".into(),
        y_label: rule
            .param
            .clone()
            .unwrap_or_else(|| "(no parameter)".into()),
        x_ticks: etas.iter().map(|x| sig3(*x)).collect(),
        y_ticks: rule
            .values
            .iter()
            .map(|x| {
                if x.is_finite() {
                    sig3(*x)
                } else {
                    "–".into()
                }
            })
            .collect(),
        values,
        text: texts,
        range,
        log: geometric,
        scale_label,
    }
}

pub(super) fn draw(
    ctx: &FigureContext,
    id: &str,
    v: &View<'_>,
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let cfg = v.cfg;
    let depth = cfg.base.hidden.len();
    let nr = v.rules.len();
    let grad_range = log_range(v, &|r| r.grad);
    let rel_range = log_range(v, &|r| r.rel);
    let plain_grad = v.plain.geo_mean(|r| r.grad);
    let plain_rel = v.plain.geo_mean(|r| r.rel);
    let plain_acc = v.plain.mean(|r| r.acc);
    let height = (520 * nr).max(1500) as u32;
    plot::save_figure(&ctx.out_dir, id, 2700, height, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "{} sigmoid layers of {}, batch {}, lr {}. Heat maps: screening, {} steps, mean over {} (geometric for gradients), diverged runs left out and counted. Lines: confirmation, {} steps, fresh seeds ({})",
                depth,
                cfg.base.hidden[0],
                cfg.base.batch,
                cfg.base.lr,
                cfg.base.steps,
                count(v.seeds, "seed"),
                cfg.confirm_steps,
                count(v.confirm_seeds, "seed")
            ),
        )?;
        let cols = plot::split_cols(&area, &[1.0, 1.0, 1.0, 1.05])?;
        let heat_rows: Vec<Vec<Area<'_>>> = cols[..3]
            .iter()
            .map(|c| plot::split_rows(c, &vec![1.0; nr]))
            .collect::<Result<_, _>>()?;
        for (ri, rule) in v.rules.iter().enumerate() {
            let maps = [
                (
                    format!("{}: final accuracy", rule.id),
                    heat(
                        v,
                        rule,
                        &|r| r.acc,
                        false,
                        (0.0, 1.0),
                        format!("accuracy (plain {:.1} %)", 100.0 * plain_acc),
                        &|m| format!("{:.1}", 100.0 * m),
                    ),
                ),
                (
                    format!("{}: late ‖∂L/∂W₁‖", rule.id),
                    heat(
                        v,
                        rule,
                        &|r| r.grad,
                        true,
                        grad_range,
                        format!("log scale (plain {})", sig3(plain_grad)),
                        &sig3,
                    ),
                ),
                (
                    format!("{}: ‖∂L/∂W₁‖ / ‖W₁‖", rule.id),
                    heat(
                        v,
                        rule,
                        &|r| r.rel,
                        true,
                        rel_range,
                        format!("log scale (plain {})", sig3(plain_rel)),
                        &sig3,
                    ),
                ),
            ];
            for (k, (title, map)) in maps.iter().enumerate() {
                let p = plot::layout::panel(&heat_rows[k][ri], ri + k * nr, title)?;
                map.draw(&p)?;
            }
        }
        let letter = 3 * nr;
        let side = plot::split_rows(&cols[3], &[1.0, 1.0, 1.0, 0.9])?;
        let hidden_x: Vec<f64> = (1..=depth).map(|l| l as f64).collect();
        let slope_series: Vec<Series> = v
            .highlight
            .iter()
            .map(|(nc, idx)| {
                let runs: Vec<Vec<f64>> = idx
                    .iter()
                    .map(|&i| {
                        let r = v.outcomes[i].result().filter(|r| !r.diverged);
                        let last = r.and_then(|r| r.history.last());
                        (0..depth)
                            .map(|l| {
                                last.and_then(|h| h.mean_slope.get(l).copied().flatten())
                                    .unwrap_or(f64::NAN)
                            })
                            .collect()
                    })
                    .collect();
                let div = idx
                    .iter()
                    .filter(|&&i| v.outcomes[i].result().is_none_or(|r| r.diverged))
                    .count();
                common::summary_series(nc, &hidden_x, &runs, Average::Arithmetic, &[(1.0, div)])
                    .markers()
            })
            .collect();
        let ps = plot::layout::panel(
            &side[0],
            letter,
            "confirmation: mean slope θ′(u) per layer, at the end",
        )?;
        XyChart::new("hidden layer", "mean θ′(u) on the probe batch")
            .series_all(slope_series)
            .line(RefLine::Horizontal(
                0.25,
                Some("largest sigmoid slope".into()),
            ))
            .legend(LegendPos::Hidden)
            .draw(&ps)?;
        let acc_series: Vec<Series> = v
            .highlight
            .iter()
            .map(|(nc, idx)| {
                let runs: Vec<_> = idx.iter().filter_map(|&i| v.outcomes[i].result()).collect();
                common::record_series(nc, &runs, &|r| r.test_accuracy, Average::Arithmetic)
            })
            .collect();
        let pa = plot::layout::panel(
            &side[1],
            letter + 1,
            "confirmation: test accuracy of plain, bn, each rule's best cell",
        )?;
        let acc_chart = XyChart::new("training step", "test accuracy (fraction correct)")
            .y_range(0.0, 1.0)
            .series_all(acc_series)
            .legend(LegendPos::Hidden);
        acc_chart.draw(&pa)?;
        let grad_series: Vec<Series> = v
            .highlight
            .iter()
            .map(|(nc, idx)| {
                let runs: Vec<_> = idx.iter().filter_map(|&i| v.outcomes[i].result()).collect();
                common::record_series(
                    nc,
                    &runs,
                    &|r| r.grad_norms.first().copied().flatten(),
                    Average::Geometric,
                )
            })
            .collect();
        // The y range follows the means (a band from few seeds can span tens of decades).
        let (glo, ghi) = grad_series
            .iter()
            .flat_map(|s| s.mean.iter().copied())
            .filter(|m| m.is_finite() && *m > 0.0)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), m| {
                (a.min(m), b.max(m))
            });
        let pg = plot::layout::panel(
            &side[2],
            letter + 2,
            "confirmation: first-layer gradient over training",
        )?;
        let mut gchart = XyChart::new("training step", "‖∂L/∂W₁‖ (geometric mean)").log_y();
        if glo.is_finite() {
            gchart = gchart.y_range(
                10f64.powf(glo.log10().floor() - 1.0),
                10f64.powf(ghi.log10().ceil() + 1.0),
            );
        }
        gchart
            .series_all(grad_series)
            .legend(LegendPos::Hidden)
            .draw(&pg)?;
        let f = side[3].margin(20, 10, 20, 10);
        let entries = acc_chart.legend_entries();
        plot::draw_legend(&f, &entries, 1, plot::LEGEND_SIZE)?;
        let (_, lh) = plot::legend_size(&f, &entries, 1, plot::LEGEND_SIZE)?;
        let style = plot::font(plot::LEGEND_SIZE);
        let notes = [
            format!(
                "Lines: mean; bands: 95 % CI of the mean over {}.",
                count(v.confirm_seeds, "seed")
            ),
            format!(
                "Gradients: geometric mean over the last {:.0} % of steps.",
                100.0 * cfg.window
            ),
            "Cells: \"n div\" runs diverged (left out of the value),".into(),
            format!(
                "\"n coll\" collapsed (reached {:.0} %, ended < {:.0} %; included).",
                100.0 * cfg.learned_above,
                100.0 * cfg.collapse_below
            ),
            "Grey cell: every run of the cell diverged.".into(),
        ];
        for (i, line) in notes.iter().enumerate() {
            f.draw_text(line, &style, (8, lh as i32 + 16 + 24 * i as i32))?;
        }
        Ok(())
    })
}
