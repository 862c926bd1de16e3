//! Drawing of the `single-neuron` figure: one row per KL rule, the output density (mean
//! histogram over seeds with its 95 % CI band) against the target, and the (α, k)
//! trajectory of seed 1 on each input with every seed's end point.

use super::{Run, SingleNeuronConfig};
use crate::figure::FigureContext;
use crate::figures::unit_common::{input_label, rule_label};
use crate::plot::{
    self, palette, Area, LegendEntry, LegendPos, LegendSwatch, MarkerShape, PlotError, RefPoint,
    Scatter, Series, XyChart,
};
use ipbn_neurons::IpRule;
use plotters::style::RGBColor;
use std::sync::Arc;

/// Colour of input distribution `i` (shared by every panel).
fn input_color(i: usize) -> RGBColor {
    palette::categorical(i)
}

pub(super) fn draw(
    ctx: &FigureContext,
    id: &str,
    rules: &[Arc<dyn IpRule>],
    cfg: &SingleNeuronConfig,
    runs: &[Run],
    pairs: &[(usize, usize)],
    ranges: &[(f64, f64)],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let cols = 1 + cfg.inputs.len();
    let rows = rules.len();
    let width = 520 * cols as u32;
    let height = 170 + 430 * rows as u32;
    plot::save_figure(&ctx.out_dir, id, width, height, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "One IP unit adapting by SGD on each KL rule from (α, k) = ({}, {}): η = {} decaying, batches of {}; {} seeds (densities: mean, band 95 % CI over seeds)",
                cfg.sgd.start.0, cfg.sgd.start.1, cfg.sgd.eta, cfg.sgd.batch, runs.iter().map(|r| r.seed_index + 1).max().unwrap_or(0)
            ),
        )?;
        // One shared legend for all panels.
        let mut entries: Vec<LegendEntry> = cfg
            .inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| LegendEntry {
                label: format!("input {}", input_label(inp)),
                color: input_color(i),
                swatch: LegendSwatch::Line {
                    dashed: false,
                    marker: false,
                    band: true,
                },
            })
            .collect();
        entries.push(LegendEntry {
            label: "target density p*".into(),
            color: palette::REFERENCE,
            swatch: LegendSwatch::Line {
                dashed: true,
                marker: false,
                band: false,
            },
        });
        entries.push(LegendEntry {
            label: "start".into(),
            color: RGBColor(120, 120, 120),
            swatch: LegendSwatch::Marker(MarkerShape::Square),
        });
        entries.push(LegendEntry {
            label: "end point of each seed".into(),
            color: RGBColor(120, 120, 120),
            swatch: LegendSwatch::Marker(MarkerShape::Circle),
        });
        entries.push(LegendEntry {
            label: "fixed point (quadrature)".into(),
            color: palette::REFERENCE,
            swatch: LegendSwatch::Marker(MarkerShape::Diamond),
        });
        entries.push(LegendEntry {
            label: "fixed point (models.md §3)".into(),
            color: palette::FAIL,
            swatch: LegendSwatch::Marker(MarkerShape::Plus),
        });
        let per_row = entries.len().div_ceil(2);
        let (lw, lh) = plot::legend_size(&area, &entries, per_row, plot::LEGEND_SIZE)?;
        let (aw, _) = area.dim_in_pixel();
        let (top, body) = area.split_vertically(lh as i32 + 12);
        let top = top.margin(0, 0, ((aw as i32 - lw as i32) / 2).max(0), 0);
        plot::draw_legend(&top, &entries, per_row, plot::LEGEND_SIZE)?;

        let mut titles: Vec<String> = Vec::new();
        for r in rules {
            titles.push(format!("{}: output", rule_label(r.as_ref())));
            for inp in &cfg.inputs {
                titles.push(format!("{} on {}", r.id(), input_label(inp)));
            }
        }
        let title_refs: Vec<&str> = titles.iter().map(String::as_str).collect();
        let panels = plot::grid(&body, rows, cols, &title_refs)?;
        for (ri, rule) in rules.iter().enumerate() {
            let act = rule.activation();
            let mine: Vec<usize> = (0..pairs.len()).filter(|&p| pairs[p].0 == ri).collect();
            let lo = mine
                .iter()
                .map(|&p| ranges[p].0)
                .fold(f64::INFINITY, f64::min);
            let hi = mine
                .iter()
                .map(|&p| ranges[p].1)
                .fold(f64::NEG_INFINITY, f64::max);
            let (lo, hi) = if lo < hi { (lo, hi) } else { (0.0, 1.0) };
            let mut density = XyChart::new(
                format!("output y = {}(αx + k)", act.name()),
                "probability density",
            )
            .legend(LegendPos::Hidden);
            for &p in &mine {
                let ii = pairs[p].1;
                let hs: Vec<&plot::Histogram> = runs
                    .iter()
                    .filter(|r| r.rule_index == ri && r.input_index == ii)
                    .filter_map(|r| r.hist.as_ref())
                    .collect();
                let Some(first) = hs.first() else { continue };
                let centres: Vec<f64> = first
                    .edges
                    .windows(2)
                    .map(|w| 0.5 * (w[0] + w[1]))
                    .collect();
                let per_seed: Vec<Vec<f64>> = hs.iter().map(|h| h.density.clone()).collect();
                let sum = plot::summarise_runs(centres.len(), &per_seed, plot::Spread::Ci95);
                density = density.series(
                    Series::new(input_label(&cfg.inputs[ii]), centres, sum.mean)
                        .band(sum.lo.iter().map(|v| v.max(0.0)).collect(), sum.hi)
                        .color(input_color(ii)),
                );
            }
            if let Some(t) = rule.target() {
                let n = 400;
                let ys: Vec<f64> = (0..=n)
                    .map(|i| lo + (hi - lo) * (i as f64 + 0.5) / (n as f64 + 1.0))
                    .collect();
                let ps: Vec<f64> = ys.iter().map(|&y| t.ln_pdf(y).exp()).collect();
                density = density.series(
                    Series::new("target p*", ys, ps)
                        .color(palette::REFERENCE)
                        .dashed(),
                );
            }
            density.x_range(lo, hi).draw(&panels[ri * cols])?;

            for run in runs
                .iter()
                .filter(|r| r.rule_index == ri && r.seed_index == 0)
            {
                let ends: Vec<(f64, f64)> = runs
                    .iter()
                    .filter(|r| r.rule_index == ri && r.input_index == run.input_index)
                    .map(|r| r.traj.last())
                    .collect();
                let mut chart = XyChart::new("gain α", "bias k")
                    .scatter(
                        Scatter::new(
                            "end points",
                            ends.iter().map(|e| e.0).collect(),
                            ends.iter().map(|e| e.1).collect(),
                        )
                        .color(input_color(run.input_index))
                        .shape(MarkerShape::Circle, 3),
                    )
                    .legend(LegendPos::Hidden)
                    .series(
                        Series::new(
                            format!("trajectory {} (seed 1)", input_label(&run.input)),
                            run.traj.alpha.clone(),
                            run.traj.k.clone(),
                        )
                        .color(input_color(run.input_index)),
                    )
                    .reference(RefPoint::new(
                        "start",
                        cfg.sgd.start,
                        RGBColor(120, 120, 120),
                        MarkerShape::Square,
                    ));
                if let Some(f) = run.fixed {
                    chart = chart.reference(RefPoint::new(
                        "fixed point (quadrature)",
                        f,
                        palette::REFERENCE,
                        MarkerShape::Diamond,
                    ));
                }
                if let Some(p) = run.published {
                    chart = chart.reference(RefPoint::new(
                        "fixed point (models.md §3)",
                        p,
                        palette::FAIL,
                        MarkerShape::Plus,
                    ));
                }
                if let Some(s) = run.traj.diverged_at {
                    chart = chart.note(format!("diverged at step {s}"));
                }
                chart.draw(&panels[ri * cols + 1 + run.input_index])?;
            }
        }
        Ok(())
    })
}
