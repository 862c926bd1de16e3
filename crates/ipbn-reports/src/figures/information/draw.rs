//! Drawing of `information`: the entropy over adaptation per input (runs at the target
//! averaged with their 95 % CI, other outcomes drawn apart), the final output densities on
//! the first input, and a table of the final H₂ with outcome counts per input.

use super::unit::{bounded_range, Condition, Fate, Measured};
use super::InformationConfig;
use crate::figure::FigureContext;
use crate::figures::unit_common::input_label;
use crate::plot::{self, Align, Area, LegendPos, PlotError, Series, TablePanel, XyChart};
use crate::stats;
use ipbn_math::Activation;

/// What the drawing needs (indexed like the conditions, then inputs, then seeds).
pub(super) struct Drawn<'a> {
    pub conds: &'a [Condition],
    pub ent: &'a [Vec<Vec<Series>>],
    pub runs: &'a [Vec<Vec<&'a Measured>>],
    pub targets: &'a [Option<f64>],
    pub seeds: usize,
}

fn fmt3(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "–".into()
    }
}

/// Short outcome counts for the table: `t/m/e/d`.
fn short_counts(ms: &[&Measured]) -> String {
    Fate::ALL
        .iter()
        .map(|f| ms.iter().filter(|m| m.fate == *f).count().to_string())
        .collect::<Vec<_>>()
        .join("/")
}

pub(super) fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &InformationConfig,
    d: &Drawn<'_>,
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    let ni = cfg.inputs.len();
    plot::save_figure(&ctx.out_dir, id, 2200, 1900, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "One unit: output entropy over adaptation (mean, 95 % CI over runs at the target; other outcomes apart, dashed; {} seeds)",
                d.seeds
            ),
        )?;
        let rows = plot::split_rows(&area, &[0.38, 0.27, 0.35])?;
        let x_desc = "adaptation step";
        let charts: Vec<XyChart> = (0..ni)
            .map(|i| {
                // The y range follows the means: a CI from a few runs can be very wide.
                let (lo, hi) = d
                    .ent
                    .iter()
                    .flat_map(|e| e[i].iter().flat_map(|s| s.mean.iter().copied()))
                    .filter(|v| v.is_finite())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                        (a.min(v), b.max(v))
                    });
                let mut c = XyChart::new(x_desc, "entropy H of y on its range (nats)")
                    .log_x()
                    .series_all(d.ent.iter().flat_map(|e| e[i].iter().cloned()))
                    .legend(LegendPos::Hidden);
                if lo.is_finite() {
                    c = c.y_range(lo - 0.3, hi + 0.3);
                }
                c
            })
            .collect();
        let mut entries = Vec::new();
        for c in &charts {
            for e in c.legend_entries() {
                if !entries
                    .iter()
                    .any(|x: &plot::LegendEntry| x.label == e.label)
                {
                    entries.push(e);
                }
            }
        }
        let (lw, _) = plot::legend_size(&rows[0], &entries, 1, plot::LEGEND_SIZE)?;
        let (w, _) = rows[0].dim_in_pixel();
        let lw = f64::from(lw + 20).min(f64::from(w) * 0.4);
        let rest = (f64::from(w) - lw).max(2.0);
        let mut weights = vec![rest / ni as f64; ni];
        weights.push(lw);
        let top = plot::split_cols(&rows[0], &weights)?;
        for (i, c) in charts.into_iter().enumerate() {
            let p = plot::layout::panel(
                &top[i],
                i,
                &format!("input {}", input_label(&cfg.inputs[i])),
            )?;
            c.draw(&p)?;
        }
        plot::draw_legend(&top[ni].margin(40, 0, 4, 0), &entries, 1, plot::LEGEND_SIZE)?;

        // Final output densities on the first input (seed 1), one panel per activation.
        let acts: Vec<Activation> = [Activation::Sigmoid, Activation::Tanh, Activation::Softplus]
            .into_iter()
            .filter(|a| d.conds.iter().any(|c| c.act == *a))
            .collect();
        let mid = plot::split_cols(&rows[1], &vec![1.0; acts.len()])?;
        for (p, &act) in acts.iter().enumerate() {
            let mut chart =
                XyChart::new(format!("output y ({})", act.name()), "probability density")
                    .legend(LegendPos::Hidden);
            if let Some((lo, hi)) = bounded_range(act) {
                chart = chart.x_range(lo, hi);
            }
            let cap = 5.0;
            let mut clipped = false;
            for (c, cond) in d.conds.iter().enumerate() {
                if cond.act != act {
                    continue;
                }
                if let Some(h) = d.runs[c][0].first().and_then(|m| m.final_hist.as_ref()) {
                    let peak = h.density.iter().copied().fold(0.0, f64::max);
                    if peak > cap {
                        clipped = true;
                        chart = chart.note(format!("{}: peak {:.1} (clipped)", cond.label, peak));
                    }
                    let mut s =
                        Series::step(cond.label.clone(), &h.edges, &h.density).color(cond.color);
                    s.dashed = cond.dashed;
                    chart = chart.series(s);
                }
            }
            if clipped {
                chart = chart.y_range(0.0, cap).note_pos(LegendPos::Right);
            }
            let panel = plot::layout::panel(
                &mid[p],
                ni + p,
                &format!(
                    "final outputs on {}, {} (seed 1)",
                    input_label(&cfg.inputs[0]),
                    act.name()
                ),
            )?;
            chart.draw(&panel)?;
        }

        let mut header = vec![
            String::new(),
            "condition".to_string(),
            "act.".to_string(),
            "target H".to_string(),
        ];
        for input in &cfg.inputs {
            header.push(format!("H₂ on {} (95 % CI)", input_label(input)));
            header.push("t/m/e/d".to_string());
        }
        let mut align = vec![Align::Left, Align::Left, Align::Left, Align::Right];
        align.extend(std::iter::repeat_n(Align::Right, 2 * ni));
        let mut table = TablePanel::new(header).align(align);
        for (c, cond) in d.conds.iter().enumerate() {
            let mut row = vec![
                if cond.dashed {
                    "■ ╌╌"
                } else {
                    "■ ━━"
                }
                .to_string(),
                cond.label.clone(),
                cond.act.name().to_string(),
                d.targets[c].map_or_else(|| "–".to_string(), fmt3),
            ];
            for i in 0..ni {
                let v: Vec<f64> = d.runs[c][i]
                    .iter()
                    .map(|m| {
                        if m.fate == Fate::Diverged {
                            f64::NAN
                        } else {
                            m.h2()
                        }
                    })
                    .collect();
                row.push(stats::mean_ci(&v).map_or("–".into(), |e| {
                    if e.lo.is_finite() {
                        format!("{:.3} [{:.3}, {:.3}]", e.mean, e.lo, e.hi)
                    } else {
                        format!("{:.3}", e.mean)
                    }
                }));
                row.push(short_counts(&d.runs[c][i]));
            }
            let mut colors = vec![Some(cond.color)];
            colors.extend(std::iter::repeat_n(None, row.len() - 1));
            table = table.row_colored(row, colors);
        }
        let pe = plot::layout::panel(
            &rows[2],
            ni + acts.len(),
            "after adaptation: Rényi H₂ = −ln V₂ (non-diverged runs); outcomes t/m/e/d = at target / mirror α < 0 / elsewhere / diverged",
        )?;
        table.draw(&pe)?;
        Ok(())
    })
}
