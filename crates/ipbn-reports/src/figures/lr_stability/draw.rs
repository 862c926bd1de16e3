//! Drawing of `lr-stability`: (a) final accuracy against the synaptic learning rate with
//! each IP condition's η = 0 control dashed; (b) final accuracy against η per rule with its
//! η = 0 control as a flat dashed line.

use super::LrStabilityConfig;
use crate::figure::FigureContext;
use crate::figures::experiment::count;
use crate::plot::{self, Area, LegendPos, PlotError, RefLine, Series, XyChart};

pub(super) fn draw(
    ctx: &FigureContext,
    id: &str,
    cfg: &LrStabilityConfig,
    seeds: usize,
    a: &[Series],
    b: &[Series],
) -> Result<Vec<std::path::PathBuf>, PlotError> {
    plot::save_figure(&ctx.out_dir, id, 1800, 1600, |area: &Area<'_>| {
        let area = plot::titled(
            area,
            &format!(
                "Final test accuracy after {} steps (784-100-100-100-10, batch {}): mean, 95 % CI over {}; × diverged (counted in the legend)",
                cfg.base.steps,
                cfg.base.batch,
                count(seeds, "seed")
            ),
        )?;
        let rows = plot::split_rows(&area, &[1.0, 1.0])?;
        let pa = plot::layout::panel(
            &rows[0],
            0,
            &format!(
                "against the synaptic learning rate (IP η = {}; dashed: η = 0, where the rule never acts)",
                cfg.base.ip_lr
            ),
        )?;
        XyChart::new(
            "synaptic learning rate (SGD step size)",
            "final test accuracy (fraction correct)",
        )
        .log_x()
        .y_range(0.0, 1.0)
        .series_all(a.iter().cloned().map(Series::markers))
        .line(RefLine::Horizontal(0.1, Some("chance (10 classes)".into())))
        .legend(LegendPos::Right)
        .draw(&pa)?;
        let pb = plot::layout::panel(
            &rows[1],
            1,
            &format!(
                "against the intrinsic learning rate η of each rule (synaptic lr = {}; dashed: η = 0 control, one network per activation as the rule never acts)",
                cfg.lr_b
            ),
        )?;
        XyChart::new(
            "intrinsic learning rate η (SGD step of α, k)",
            "final test accuracy (fraction correct)",
        )
        .log_x()
        .y_range(0.0, 1.0)
        .series_all(b.iter().cloned().map(Series::markers))
        .legend(LegendPos::Right)
        .draw(&pb)?;
        Ok(())
    })
}
