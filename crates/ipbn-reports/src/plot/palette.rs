//! One fixed, colour-blind-friendly colour per condition, shared by every figure.
//!
//! The base colours are the Okabe–Ito set (distinguishable under the common forms of colour
//! blindness), extended with Paul Tol's "muted" set for labels that are not known here.
//!
//! | label | colour |
//! |---|---|
//! | `plain` | black |
//! | `none` / `no adaptation` | grey |
//! | `bn` | blue |
//! | `ip:infomax-tanh` | vermillion |
//! | `ip:infomax-logistic` | orange |
//! | `ip:triesch` | bluish green |
//! | `ip:schrauwen` | reddish purple |
//! | `ip:moment` | sky blue |
//! | `ip:adam-*` (Adam-stepped rules) | wine |
//! | `ip+affine:<rule>` | a darker shade of `ip:<rule>` (draw it dashed as well) |
//! | anything else | one of Tol's muted colours, chosen by a stable hash of the label |
//!
//! A rule label may carry parameters (`ip:triesch:mu=0.1`, `triesch(mu=0.1)`): only the rule
//! id decides the colour, so every parameter setting of a rule shares its hue. A bare rule id
//! (`triesch`) has the same colour as `ip:triesch`.

use plotters::style::RGBColor;

/// Okabe–Ito black, for `plain`.
pub const PLAIN: RGBColor = RGBColor(0, 0, 0);
/// Grey, for `none` (no adaptation).
pub const NONE: RGBColor = RGBColor(136, 136, 136);
/// Okabe–Ito blue, for `bn`.
pub const BN: RGBColor = RGBColor(0, 114, 178);

/// Black, for reference curves (target densities, theory).
pub const REFERENCE: RGBColor = RGBColor(0, 0, 0);
/// Bluish green, for a verdict that holds.
pub const PASS: RGBColor = RGBColor(0, 130, 95);
/// Vermillion, for a verdict that fails.
pub const FAIL: RGBColor = RGBColor(200, 70, 0);

/// Colours of the rules the registry knows, by rule id prefix.
const RULES: &[(&str, RGBColor)] = &[
    ("infomax-tanh", RGBColor(213, 94, 0)),
    ("infomax-logistic", RGBColor(230, 159, 0)),
    ("infomax-sigmoid", RGBColor(230, 159, 0)),
    ("triesch", RGBColor(0, 158, 115)),
    ("schrauwen", RGBColor(204, 121, 167)),
    ("moment", RGBColor(86, 180, 233)),
    ("adam", RGBColor(136, 34, 85)),
];

/// Paul Tol's muted palette (without its pale grey), for unknown labels and [`categorical`].
const MUTED: &[RGBColor] = &[
    RGBColor(51, 34, 136),
    RGBColor(17, 119, 51),
    RGBColor(68, 170, 153),
    RGBColor(136, 204, 238),
    RGBColor(221, 204, 119),
    RGBColor(204, 102, 119),
    RGBColor(170, 68, 153),
    RGBColor(153, 153, 51),
];

/// Indexed colours for things that are not conditions (input distributions, seeds, panels):
/// Tol's "bright" set, in a fixed order.
const BRIGHT: &[RGBColor] = &[
    RGBColor(68, 119, 170),
    RGBColor(238, 102, 119),
    RGBColor(34, 136, 51),
    RGBColor(204, 187, 68),
    RGBColor(102, 204, 238),
    RGBColor(170, 51, 119),
    RGBColor(187, 187, 187),
];

/// The colour of a condition label (see the module table). Never fails: an unknown label gets
/// a stable colour from a hash of its text.
pub fn color_for(label: &str) -> RGBColor {
    let l = label.trim().to_ascii_lowercase();
    match l.as_str() {
        "plain" => return PLAIN,
        "bn" | "batchnorm" | "bn standardisation" | "bn-standardisation" => return BN,
        "none" | "no adaptation" | "no-adaptation" | "fixed" => return NONE,
        _ => {}
    }
    let (rest, affine) = if let Some(r) = l.strip_prefix("ip+affine:") {
        (r, true)
    } else if let Some(r) = l.strip_prefix("ip:") {
        (r, false)
    } else {
        (l.as_str(), false)
    };
    let id = rule_id(rest);
    if let Some(c) = rule_color(id) {
        return if affine { darken(c, 0.45) } else { c };
    }
    let c = MUTED[(fnv1a(id) % MUTED.len() as u64) as usize];
    if affine {
        darken(c, 0.45)
    } else {
        c
    }
}

/// The `i`-th categorical colour (cycles after seven), for series that are not conditions.
pub fn categorical(i: usize) -> RGBColor {
    BRIGHT[i % BRIGHT.len()]
}

/// `c` moved towards black by `amount` in [0, 1] (0: unchanged, 1: black).
pub fn darken(c: RGBColor, amount: f64) -> RGBColor {
    let a = amount.clamp(0.0, 1.0);
    let f = |v: u8| (f64::from(v) * (1.0 - a)).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// `c` moved towards white by `amount` in [0, 1] (0: unchanged, 1: white).
pub fn lighten(c: RGBColor, amount: f64) -> RGBColor {
    let a = amount.clamp(0.0, 1.0);
    let f = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * a).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// The rule id at the start of `s`: text up to the first `:`, `(` or whitespace.
fn rule_id(s: &str) -> &str {
    let end = s
        .find(|ch: char| ch == ':' || ch == '(' || ch.is_whitespace())
        .unwrap_or(s.len());
    &s[..end]
}

fn rule_color(id: &str) -> Option<RGBColor> {
    if id.is_empty() {
        return None;
    }
    // Exact ids first, then prefixes (e.g. `adam-infomax-tanh`, `moment-matching`).
    RULES
        .iter()
        .find(|(name, _)| *name == id)
        .or_else(|| RULES.iter().find(|(name, _)| id.starts_with(name)))
        .map(|(_, c)| *c)
}

/// 64-bit FNV-1a: a stable hash (unlike `DefaultHasher`, fixed across Rust versions).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_do_not_change_the_hue() {
        assert_eq!(color_for("ip:triesch:mu=0.1"), color_for("triesch"));
        assert_eq!(color_for("triesch(mu=0.2)"), color_for("ip:triesch"));
        assert_eq!(color_for("IP:Triesch"), color_for("ip:triesch"));
    }

    #[test]
    fn affine_is_a_darker_shade() {
        let a = color_for("ip+affine:triesch");
        let b = color_for("ip:triesch");
        assert_ne!(a, b);
        assert!(
            u32::from(a.0) + u32::from(a.1) + u32::from(a.2)
                < u32::from(b.0) + u32::from(b.1) + u32::from(b.2)
        );
    }

    #[test]
    fn unknown_labels_are_stable() {
        assert_eq!(color_for("something-new"), color_for("something-new"));
        assert_eq!(lighten(RGBColor(0, 0, 0), 1.0), RGBColor(255, 255, 255));
        assert_eq!(categorical(0), categorical(BRIGHT.len()));
    }
}
