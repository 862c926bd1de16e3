//! The shared plotting style: palette, atomic writes, and a figure using every chart layer.

mod common;

use common::{check_png, check_svg, no_temp_files};
use ipbn_reports::plot::{
    self, Align, Bars, LegendPos, MarkerShape, RefLine, RefPoint, Scatter, Series, Spread,
    TablePanel, XyChart,
};

/// Where to keep the rendered demo for inspection (`IPBN_PLOT_DEMO_DIR`), else a tempdir.
fn out_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = std::env::var_os("IPBN_PLOT_DEMO_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| t.path().to_path_buf());
    (t, p)
}

#[test]
fn standard_conditions_have_distinct_colours() {
    let rules = [
        "infomax-tanh",
        "infomax-logistic",
        "triesch",
        "schrauwen",
        "moment",
        "adam-infomax",
    ];
    let mut labels = vec!["plain".to_string(), "bn".to_string(), "none".to_string()];
    for r in rules {
        labels.push(format!("ip:{r}"));
        labels.push(format!("ip+affine:{r}"));
    }
    let colors: Vec<_> = labels.iter().map(|l| plot::color_for(l)).collect();
    for i in 0..colors.len() {
        for j in 0..i {
            assert_ne!(
                colors[i], colors[j],
                "{} and {} share a colour",
                labels[i], labels[j]
            );
        }
    }
    // Fixed across figures and runs.
    assert_eq!(plot::color_for("bn"), plot::color_for("bn"));
    assert_eq!(plot::color_for("ip:triesch"), plot::color_for("triesch"));
}

#[test]
fn atomic_writes_leave_only_the_final_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.json");
    plot::write_json_atomic(&p, &serde_json::json!({"a": 1.5, "b": [1, 2]})).unwrap();
    plot::write_json_atomic(&p, &serde_json::json!({"a": 2.5})).unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert_eq!(v["a"], 2.5);
    plot::write_text_atomic(dir.path().join("t.md"), "hello\n").unwrap();
    // A drawing that fails leaves no partial file and keeps nothing half-written.
    let err = plot::save_figure(dir.path(), "broken", 400, 300, |_area| {
        Err(plot::PlotError::Invalid("deliberate".into()))
    });
    assert!(err.is_err());
    assert!(!dir.path().join("broken.png").exists());
    assert!(!dir.path().join("broken.svg").exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    no_temp_files(dir.path());
    // Bad arguments are errors, not panics.
    assert!(plot::save_figure(dir.path(), "a/b", 400, 300, |_| Ok(())).is_err());
    assert!(plot::save_figure(dir.path(), "tiny", 10, 10, |_| Ok(())).is_err());
}

#[test]
fn every_layer_draws_and_both_files_are_written() {
    let (_t, dir) = out_dir();
    let x: Vec<f64> = (1..=40).map(|i| f64::from(i) * 50.0).collect();
    let runs = |rate: f64, noise: f64| -> Vec<Vec<f64>> {
        (0..3)
            .map(|s| {
                x.iter()
                    .map(|v| 1.0 - 0.9 * (-v / rate).exp() - noise * f64::from(s) / 3.0)
                    .collect()
            })
            .collect()
    };
    let mut diverging = runs(800.0, 0.05);
    diverging[2][30] = f64::NAN;
    diverging[2][35] = f64::INFINITY;
    let lr: Vec<f64> = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0].to_vec();
    let samples: Vec<f64> = (0..2000)
        .map(|i| ((f64::from(i) + 0.5) / 2000.0).powi(2))
        .collect();
    let hist = plot::histogram_density(&samples, 30, Some((0.0, 1.0))).unwrap();
    let grid: Vec<f64> = (1..100).map(|i| f64::from(i) / 100.0).collect();
    let files = plot::save_figure(&dir, "plot-demo", 1600, 1000, |area| {
        let area = plot::titled(area, "plot module demo")?;
        let p = plot::grid(
            &area,
            2,
            2,
            &["lines with bands", "log axes", "histogram", "table"],
        )?;
        XyChart::new("training step", "test accuracy (fraction)")
            .series(Series::from_runs(
                "plain",
                &x,
                &runs(400.0, 0.1),
                Spread::MinMax,
            ))
            .series(Series::from_runs("bn", &x, &diverging, Spread::Sd))
            .series(
                Series::from_runs("ip+affine:triesch", &x, &runs(600.0, 0.02), Spread::MinMax)
                    .dashed(),
            )
            .line(RefLine::Horizontal(0.9, Some("target 0.9".into())))
            .note("bands: min–max over 3 seeds")
            .note("bn: ± 1 sd")
            .draw(&p[0])?;
        XyChart::new("synaptic learning rate", "loss")
            .log_x()
            .log_y()
            .series(
                Series::new(
                    "ip:infomax-tanh",
                    lr.clone(),
                    lr.iter().map(|v| v * 2.0).collect(),
                )
                .markers(),
            )
            .series(
                Series::new(
                    "plain",
                    lr.clone(),
                    vec![0.1, 0.2, 0.5, 1.0, f64::NAN, f64::NAN, f64::NAN],
                )
                .markers(),
            )
            .scatter(
                Scatter::new("seeds", lr.clone(), lr.iter().map(|v| v * 3.0).collect())
                    .color(plot::categorical(2))
                    .shape(MarkerShape::Square, 5),
            )
            .line(RefLine::Identity(Some("y = x".into())))
            .reference(RefPoint {
                label: "fixed point".into(),
                x: 0.01,
                y: 0.1,
                color: plot::categorical(1),
                shape: MarkerShape::Diamond,
            })
            .legend(LegendPos::Below)
            .draw(&p[1])?;
        XyChart::new("output y", "density")
            .bars(
                Bars::new("learned", hist.edges.clone(), hist.density.clone())
                    .color(plot::categorical(0)),
            )
            .series(
                Series::new(
                    "target",
                    grid.clone(),
                    grid.iter().map(|y| 0.5 / y.sqrt()).collect(),
                )
                .color(plot::palette::REFERENCE),
            )
            .legend(LegendPos::UpperRight)
            .note("KL = 0.01 nats")
            .y_range(0.0, 4.0)
            .draw(&p[2])?;
        TablePanel::new(["claim", "cases", "worst error", "verdict"])
            .align(vec![Align::Left, Align::Right, Align::Right, Align::Left])
            .row(["bn-is-ip", "1000", "2.2e-16", "holds"])
            .row_colored(
                ["gradients", "50", "3.1e-5", "FAILS"],
                vec![None, None, None, Some(plot::palette::FAIL)],
            )
            .draw(&p[3])?;
        Ok(())
    })
    .unwrap();
    assert_eq!(files.len(), 2);
    check_svg(&files[0]);
    check_png(&files[1], 1000);
    assert!(files[0].ends_with("plot-demo.svg") && files[1].ends_with("plot-demo.png"));
    let svg = std::fs::read_to_string(&files[0]).unwrap();
    // Every series is named in the legend, diverged runs counted.
    for needle in [
        "plain",
        "bn (× 2 diverged)",
        "ip+affine:triesch",
        "fixed point",
        "y = x",
        "holds",
    ] {
        assert!(
            svg.contains(needle),
            "legend text `{needle}` missing from the SVG"
        );
    }
    for bad in ["NaN", "\"inf", "\"-inf", ",inf", ",-inf", " inf"] {
        assert!(
            !svg.contains(bad),
            "a non-finite number reached the SVG ({bad})"
        );
    }
    no_temp_files(&dir);
}
