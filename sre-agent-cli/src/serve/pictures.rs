//! The incident page's pictures, drawn on the server as inline SVG: no
//! script, no chart library, nothing fetched by the browser.
//!
//! Three pictures, for what people would rather look at than read:
//!
//! * the **call path** from the alerting service to the cause, each hop with
//!   its error rate and p99 against the baseline, the cause highlighted;
//! * the alerting service's **error rate over the window** (requests as
//!   bars behind it), with the change and the alert marked;
//! * the **timeline as a strip**, one row per source, so that what happened
//!   first and where is visible at a glance.
//!
//! Each is an `<svg role="img">` with a `<title>` and an `aria-label` that
//! says in words what it shows, and sits in a `<figure>` whose caption
//! repeats it: the picture adds to the text below it, never replaces it.
//! They are drawn from the RCA alone (its `figures` and `timeline`), so a
//! page opened long after the incident shows what the investigation saw.
//!
//! The same SVG, rasterised by `resvg` ([`Picture::png`]), goes to the
//! incident's Slack thread, where SVG is not shown. The text in it is drawn
//! with DejaVu Sans compiled into the binary, so a PNG looks the same on a
//! laptop and in a container image that has no fonts at all.

use std::sync::OnceLock;

use jiff::Timestamp;
use maud::{Markup, html};
use sre_orchestrator::rca::{Hop, Rca, Series, TimelineEvent};

/// Width of every picture's drawing area, in SVG units.
const WIDTH: f64 = 720.0;

/// The hours before the last event the timeline strip shows.
const STRIP_HOURS: i64 = 3;

/// A PNG's pixels per SVG unit: twice, for sharp text on high-density
/// screens.
const PNG_SCALE: f32 = 2.0;

/// One picture: the `<svg>` element and what it shows in words.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The svg element's id (`call-path`, `error-chart`, `timeline-strip`).
    pub id: &'static str,
    /// A short title (`Call path`): a PNG's title and file name in Slack.
    pub title: &'static str,
    /// What it shows, in words: the svg's `aria-label`, a PNG's alt text.
    pub label: String,
    /// The caption under it.
    pub caption: String,
    svg: Markup,
}

/// A picture that could not be drawn as a PNG.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// The SVG did not parse (a bug: it is our own).
    #[error("the SVG of {0} does not parse: {1}")]
    Svg(&'static str, String),
    /// No room for the pixels.
    #[error("no pixmap of {0}×{1} for {2}")]
    Size(u32, u32, &'static str),
    /// PNG encoding failed.
    #[error("PNG encoding of {0}: {1}")]
    Png(&'static str, String),
}

impl Picture {
    /// The figure on the incident page: the SVG and its caption.
    fn figure(&self) -> Markup {
        html! { figure { (self.svg) figcaption { (self.caption) } } }
    }

    /// The SVG element as text.
    pub fn svg(&self) -> &str {
        &self.svg.0
    }

    /// The picture as a PNG on white, [`PNG_SCALE`] pixels per unit.
    pub fn png(&self) -> Result<Vec<u8>, PictureError> {
        let tree = resvg::usvg::Tree::from_str(self.svg(), svg_options())
            .map_err(|e| PictureError::Svg(self.id, e.to_string()))?;
        let size = tree.size();
        let (w, h) = (
            (size.width() * PNG_SCALE).ceil() as u32,
            (size.height() * PNG_SCALE).ceil() as u32,
        );
        let mut pixmap =
            resvg::tiny_skia::Pixmap::new(w, h).ok_or(PictureError::Size(w, h, self.id))?;
        pixmap.fill(resvg::tiny_skia::Color::WHITE);
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
            &mut pixmap.as_mut(),
        );
        pixmap
            .encode_png()
            .map_err(|e| PictureError::Png(self.id, e.to_string()))
    }
}

/// How SVG text is drawn: DejaVu Sans (regular and bold), from the binary,
/// for every family the SVG names or none. Loaded once.
fn svg_options() -> &'static resvg::usvg::Options<'static> {
    static OPTIONS: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut fonts = resvg::usvg::fontdb::Database::new();
        fonts.load_font_data(dejavu::sans::regular().to_vec());
        fonts.load_font_data(dejavu::sans::bold().to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
        let mut options = resvg::usvg::Options {
            font_family: "DejaVu Sans".into(),
            ..resvg::usvg::Options::default()
        };
        *options.fontdb_mut() = fonts;
        options
    })
}

/// The pictures the RCA has data for, in reading order.
pub fn pictures(rca: &Rca) -> Vec<Picture> {
    [call_path(rca), error_chart(rca), timeline_strip(rca)]
        .into_iter()
        .flatten()
        .collect()
}

/// All the pictures the RCA has data for, as the incident page's section.
pub fn all(rca: &Rca) -> Option<Markup> {
    let pictures = pictures(rca);
    (!pictures.is_empty()).then(|| {
        html! {
            section id="pictures" {
                h2 { "Pictures" }
                @for p in &pictures { (p.figure()) }
            }
        }
    })
}

/// The `<svg>` element every picture opens with: its id, role, words and
/// size; the namespace so that it stands alone as an SVG file too.
fn svg_element(id: &str, label: &str, height: f64, body: Markup) -> Markup {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id=(id) role="img" aria-label=(label)
            viewBox=(format!("0 0 {WIDTH} {height}")) width="100%" {
            title { (label) }
            (body)
        }
    }
}

/// Whether a hop is the RCA's cause: the same name, or the name a
/// `kind/name` component ends in.
fn is_cause(rca: &Rca, service: &str) -> bool {
    let c = rca.root_cause.component.as_str();
    c == service || c.rsplit('/').next() == Some(service)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1}%"))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(
        || "—".into(),
        |v| {
            if v >= 1000.0 {
                format!("{:.1}s", v / 1000.0)
            } else {
                format!("{v:.0}ms")
            }
        },
    )
}

fn hop_words(h: &Hop) -> String {
    format!(
        "{}: errors {} (before {}), p99 {} (before {})",
        h.service,
        pct(h.err_pct),
        pct(h.baseline_err_pct),
        ms(h.p99_ms),
        ms(h.baseline_p99_ms)
    )
}

/// The call path, left to right. When the cause is not a hop (a database,
/// a node, a ConfigMap), it is drawn at the end, dashed: reached from the
/// last hop, not measured as a service.
fn call_path(rca: &Rca) -> Option<Picture> {
    let hops = &rca.figures.path;
    if hops.is_empty() {
        return None;
    }
    let cause_on_path = hops.iter().any(|h| is_cause(rca, &h.service));
    let boxes = hops.len() + usize::from(!cause_on_path);
    let step = (WIDTH / boxes as f64).min(240.0);
    let w = step - 24.0;
    let mut words: Vec<String> = hops.iter().map(hop_words).collect();
    if !cause_on_path {
        words.push(format!(
            "cause: {} ({})",
            rca.root_cause.component, rca.root_cause.kind
        ));
    }
    let label = format!("Call path: {}", words.join(" → "));
    let end = |i: usize| i as f64 * step + w;
    let svg = svg_element(
        "call-path",
        &label,
        96.0,
        html! {
            @for (i, h) in hops.iter().enumerate() {
                @let x = i as f64 * step;
                @let cause = is_cause(rca, &h.service);
                g class=(if cause { "hop cause" } else { "hop" }) {
                    rect x=(x) y="8" width=(w) height="72" rx="6"
                        fill=(if cause { "#fde2e1" } else { "#f4f6f8" })
                        stroke=(if cause { "#c0392b" } else { "#8a96a3" })
                        stroke-width=(if cause { "3" } else { "1" }) {}
                    text x=(x + 8.0) y="28" font-weight="bold" { (clip(&h.service, w)) }
                    text x=(x + 8.0) y="48" font-size="12" { "err " (pct(h.err_pct)) " (" (pct(h.baseline_err_pct)) ")" }
                    text x=(x + 8.0) y="66" font-size="12" { "p99 " (ms(h.p99_ms)) " (" (ms(h.baseline_p99_ms)) ")" }
                }
                @if i + 1 < boxes {
                    line x1=(end(i)) y1="44" x2=(end(i) + 24.0) y2="44" stroke="#44505c" stroke-width="2"
                        stroke-dasharray=(if i + 1 == hops.len() { "4 3" } else { "none" }) {}
                }
            }
            @if !cause_on_path {
                @let x = hops.len() as f64 * step;
                g class="hop cause" {
                    rect x=(x) y="8" width=(w) height="72" rx="6" fill="#fde2e1" stroke="#c0392b" stroke-width="3" stroke-dasharray="6 3" {}
                    text x=(x + 8.0) y="28" font-weight="bold" { (clip(&rca.root_cause.component, w)) }
                    text x=(x + 8.0) y="48" font-size="12" { (rca.root_cause.kind) }
                    text x=(x + 8.0) y="66" font-size="12" { "the cause" }
                }
            }
        },
    );
    Some(Picture {
        id: "call-path",
        title: "Call path",
        label,
        caption: "The call path from the alerting service; the cause is outlined in red. Each hop: error rate and p99 in the window (before it in brackets).".into(),
        svg,
    })
}

/// Text shortened to fit `width` SVG units at about 8 units a character.
fn clip(text: &str, width: f64) -> String {
    let max = ((width - 16.0) / 8.0).max(4.0) as usize;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// Events worth a mark on the chart: the changes (rollouts) and the alert.
fn marks(rca: &Rca, series: &Series) -> Vec<(Timestamp, &'static str)> {
    let (first, last) = match (series.points.first(), series.points.last()) {
        (Some(f), Some(l)) => (f.at, l.at),
        _ => return Vec::new(),
    };
    let end = last
        .checked_add(jiff::SignedDuration::from_secs(series.interval_secs))
        .unwrap_or(last);
    rca.timeline
        .iter()
        .filter(|t| t.at >= first && t.at <= end)
        .filter_map(|t| match t.source.as_str() {
            "alert" => Some((t.at, "alert")),
            "k8s.rollout" => Some((t.at, "change")),
            _ => None,
        })
        .collect()
}

/// Error rate as a line over request bars, one interval per step.
fn error_chart(rca: &Rca) -> Option<Picture> {
    let s = rca.figures.series.as_ref()?;
    let (first, last) = (s.points.first()?.at, s.points.last()?.at);
    let span = last.duration_since(first).as_secs_f64() + s.interval_secs as f64;
    if span <= 0.0 {
        return None;
    }
    let (left, top, height) = (48.0, 12.0, 120.0);
    let plot = WIDTH - left - 12.0;
    let x = |t: Timestamp| left + t.duration_since(first).as_secs_f64() / span * plot;
    let max_err = s
        .points
        .iter()
        .filter_map(|p| p.err_pct)
        .fold(1.0_f64, f64::max)
        .min(100.0);
    let max_calls = s.points.iter().map(|p| p.calls).fold(1.0_f64, f64::max);
    let y_err = |e: f64| top + height - e / max_err * height;
    let bar_w = (s.interval_secs as f64 / span * plot - 2.0).max(1.0);
    let line: Vec<String> = s
        .points
        .iter()
        .filter_map(|p| {
            p.err_pct
                .map(|e| format!("{:.1},{:.1}", x(p.at) + bar_w / 2.0, y_err(e)))
        })
        .collect();
    let peak = s
        .points
        .iter()
        .filter_map(|p| p.err_pct.map(|e| (p.at, e)))
        // The first interval at the peak: when it got that bad.
        .fold(None, |best: Option<(Timestamp, f64)>, (at, e)| match best {
            Some((_, b)) if b >= e => best,
            _ => Some((at, e)),
        });
    let label = format!(
        "{}'s error rate from {} to {} UTC, peak {}{}",
        s.service,
        hm(first),
        hm(last),
        pct(peak.map(|p| p.1)),
        peak.map(|p| format!(" at {}", hm(p.0))).unwrap_or_default()
    );
    let marks = marks(rca, s);
    let svg = svg_element(
        "error-chart",
        &label,
        160.0,
        html! {
            @for p in &s.points {
                @let h = p.calls / max_calls * height;
                rect class="calls" x=(format!("{:.1}", x(p.at))) y=(format!("{:.1}", top + height - h)) width=(format!("{bar_w:.1}")) height=(format!("{h:.1}")) fill="#dfe6ee" {}
            }
            polyline class="errors" points=(line.join(" ")) fill="none" stroke="#c0392b" stroke-width="2" {}
            @for (at, what) in &marks {
                line class=(format!("mark {what}")) x1=(format!("{:.1}", x(*at))) y1=(top) x2=(format!("{:.1}", x(*at))) y2=(top + height) stroke="#2c3e50" stroke-dasharray="3 3" {}
                text x=(format!("{:.1}", x(*at) + 3.0)) y=(top + 10.0) font-size="11" { (what) " " (hm(*at)) }
            }
            line x1=(left) y1=(top + height) x2=(WIDTH - 12.0) y2=(top + height) stroke="#44505c" {}
            text x="4" y=(top + 10.0) font-size="11" { (format!("{max_err:.0}%")) }
            text x="4" y=(top + height) font-size="11" { "0%" }
            text x=(left) y=(top + height + 16.0) font-size="11" { (hm(first)) }
            text x=(WIDTH - 12.0) y=(top + height + 16.0) font-size="11" text-anchor="end" { (hm(last)) }
        },
    );
    let caption = format!(
        "{}: error rate (red line) and requests (bars) per {} min, UTC; the change and the alert marked.",
        s.service,
        s.interval_secs / 60
    );
    Some(Picture {
        id: "error-chart",
        title: "Error rate",
        label,
        caption,
        svg,
    })
}

fn hm(t: Timestamp) -> String {
    t.strftime("%H:%M").to_string()
}

/// The timeline, one row per source in the order the sources first speak.
fn timeline_strip(rca: &Rca) -> Option<Picture> {
    let last = rca.timeline.iter().map(|t| t.at).max()?;
    // The incident's own hours: a rollout from two days before would
    // squeeze everything else into one corner. Older events are counted
    // (the table lists them).
    let floor = last
        .checked_sub(jiff::SignedDuration::from_hours(STRIP_HOURS))
        .unwrap_or(last);
    let events: Vec<&TimelineEvent> = rca.timeline.iter().filter(|t| t.at >= floor).collect();
    let earlier = rca.timeline.len() - events.len();
    let first = events.iter().map(|t| t.at).min()?;
    let mut sources: Vec<&str> = Vec::new();
    for t in &events {
        if !sources.contains(&t.source.as_str()) {
            sources.push(&t.source);
        }
    }
    let (left, row) = (150.0, 22.0);
    let plot = WIDTH - left - 16.0;
    let span = last.duration_since(first).as_secs_f64().max(1.0);
    let x = |t: Timestamp| left + t.duration_since(first).as_secs_f64() / span * plot;
    let height = sources.len() as f64 * row + 24.0;
    let label = format!(
        "Timeline from {} to {} UTC: {} events from {}{}",
        hm(first),
        hm(last),
        events.len(),
        sources.join(", "),
        if earlier > 0 {
            format!("; {earlier} earlier")
        } else {
            String::new()
        }
    );
    let svg = svg_element(
        "timeline-strip",
        &label,
        height,
        html! {
            @for (i, source) in sources.iter().enumerate() {
                @let y = i as f64 * row + 14.0;
                text x="4" y=(y + 4.0) font-size="12" { (clip(source, left)) }
                line x1=(left) y1=(y) x2=(WIDTH - 16.0) y2=(y) stroke="#e1e6eb" {}
                @for t in events.iter().filter(|t| t.source == *source) {
                    circle cx=(format!("{:.1}", x(t.at))) cy=(y) r="5"
                        fill=(if t.source == "alert" { "#c0392b" } else { "#2c6fbb" }) {
                        title { (hm(t.at)) " " (t.event) }
                    }
                }
            }
            @if earlier > 0 {
                text x="4" y=(height - 4.0) font-size="11" { "+" (earlier) " earlier" }
            }
            text x=(left) y=(height - 4.0) font-size="11" { (hm(first)) }
            text x=(WIDTH - 16.0) y=(height - 4.0) font-size="11" text-anchor="end" { (hm(last)) }
        },
    );
    Some(Picture {
        id: "timeline-strip",
        title: "Timeline",
        label,
        caption: "The timeline by source, UTC (each dot's text shows on hover; the table below lists them all).".into(),
        svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sre_orchestrator::rca::{Figures, Point};

    fn rca() -> Rca {
        let mut rca: Rca = serde_json::from_value(serde_json::json!({
            "summary": "checkout: cart OOMKilled",
            "category": "resource",
            "root_cause": {"component": "deployment/cart", "kind": "oom_killed", "description": "d"},
            "confidence": 0.9, "evidence": [], "remediation": [],
            "affected_services": [], "data_gaps": [], "mode": "deterministic",
            "timeline": [
                {"at": "2026-11-20T14:12:00Z", "source": "k8s.rollout", "event": "revision 3"},
                {"at": "2026-11-20T14:20:00Z", "source": "k8s.events", "event": "OOMKilled <b>"},
                {"at": "2026-11-20T14:22:00Z", "source": "alert", "event": "alert fired"}
            ]
        }))
        .unwrap();
        let hop = |s: &str, e: f64| Hop {
            service: s.into(),
            err_pct: Some(e),
            baseline_err_pct: Some(0.2),
            p99_ms: Some(1500.0),
            baseline_p99_ms: Some(90.0),
        };
        rca.figures = Figures {
            path: vec![hop("checkout", 12.5), hop("cart", 40.0)],
            series: Some(Series {
                service: "checkout".into(),
                interval_secs: 300,
                points: (0..6)
                    .map(|i| Point {
                        at: Timestamp::from_second(1_795_702_800 + i * 300).unwrap(),
                        calls: 500.0,
                        err_pct: Some(if i < 3 { 0.2 } else { 12.0 }),
                    })
                    .collect(),
            }),
        };
        rca
    }

    #[test]
    fn the_cause_on_the_path_is_highlighted_and_described() {
        let svg = call_path(&rca()).unwrap().svg().to_string();
        assert_eq!(svg.matches("class=\"hop cause\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"hop\"").count(), 1, "{svg}");
        assert!(
            svg.contains("cart: errors 40.0% (before 0.2%), p99 1.5s (before 90ms)"),
            "{svg}"
        );
    }

    #[test]
    fn a_cause_off_the_path_is_drawn_at_its_end() {
        let mut r = rca();
        r.root_cause.component = "shop.orders".into();
        r.root_cause.kind = "missing_index".into();
        let svg = call_path(&r).unwrap().svg().to_string();
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains("cause: shop.orders (missing_index)"), "{svg}");
        assert!(svg.contains("stroke-dasharray=\"6 3\""), "{svg}");
    }

    #[test]
    fn the_chart_marks_the_change_and_the_alert_inside_its_window() {
        let mut r = rca();
        // Shift the series so that it covers the three events.
        let s = r.figures.series.as_mut().unwrap();
        let start: Timestamp = "2026-11-20T14:00:00Z".parse().unwrap();
        for (i, p) in s.points.iter_mut().enumerate() {
            p.at = start + jiff::SignedDuration::from_secs(300 * i as i64);
        }
        let svg = error_chart(&r).unwrap().svg().to_string();
        assert_eq!(svg.matches("class=\"calls\"").count(), 6, "{svg}");
        assert!(svg.contains("class=\"mark change\""), "{svg}");
        assert!(svg.contains("class=\"mark alert\""), "{svg}");
        assert!(svg.contains("peak 12.0% at 14:15"), "{svg}");
        // Events outside the series' window are not marked.
        r.timeline[0].at = "2026-11-20T09:00:00Z".parse().unwrap();
        let svg = error_chart(&r).unwrap().svg().to_string();
        assert!(!svg.contains("mark change"), "{svg}");
    }

    #[test]
    fn the_strip_has_a_row_per_source_and_escapes_event_text() {
        let svg = timeline_strip(&rca()).unwrap().svg().to_string();
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        assert!(svg.contains("k8s.rollout, k8s.events, alert"), "{svg}");
        assert!(svg.contains("OOMKilled &lt;b&gt;"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
    }

    #[test]
    fn the_strip_keeps_to_the_incidents_hours() {
        let mut r = rca();
        r.timeline[0].at = "2026-11-18T09:40:00Z".parse().unwrap();
        let svg = timeline_strip(&r).unwrap().svg().to_string();
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert!(svg.contains("+1 earlier"), "{svg}");
        assert!(
            svg.contains("from 14:20 to 14:22 UTC: 2 events from k8s.events, alert; 1 earlier"),
            "{svg}"
        );
    }

    /// Each picture stands alone as a PNG twice its SVG size, on white,
    /// with its text drawn (black pixels: only text is black; boxes, lines
    /// and marks are coloured or grey).
    #[test]
    fn each_picture_draws_as_a_png_with_its_text() {
        let mut r = rca();
        let start: Timestamp = "2026-11-20T14:00:00Z".parse().unwrap();
        for (i, p) in r
            .figures
            .series
            .as_mut()
            .unwrap()
            .points
            .iter_mut()
            .enumerate()
        {
            p.at = start + jiff::SignedDuration::from_secs(300 * i as i64);
        }
        let drawn = pictures(&r);
        assert_eq!(drawn.len(), 3);
        for p in &drawn {
            let png = p.png().unwrap();
            let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
            assert_eq!(pixmap.width(), (WIDTH * 2.0) as u32, "{}", p.id);
            let px = pixmap.pixels();
            let white = px
                .iter()
                .filter(|c| c.red() == 255 && c.green() == 255 && c.blue() == 255)
                .count();
            assert!(white > px.len() / 5, "{}: a white background", p.id);
            if let Some(dir) = std::env::var_os("PICTURES_OUT") {
                std::fs::write(
                    std::path::Path::new(&dir).join(format!("{}.png", p.id)),
                    &png,
                )
                .unwrap();
            }
            let black = px
                .iter()
                .filter(|c| c.red() < 40 && c.green() < 40 && c.blue() < 40)
                .count();
            assert!(black > 200, "{}: text drawn ({black} black pixels)", p.id);
        }
        // Without text there is no black: the check above sees text.
        let mut bare = drawn[0].clone();
        bare.svg = maud::PreEscaped(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 720 96\" width=\"100%\">\
             <rect x=\"0\" y=\"8\" width=\"200\" height=\"72\" fill=\"#fde2e1\" stroke=\"#c0392b\"/></svg>"
                .to_string(),
        );
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&bare.png().unwrap()).unwrap();
        assert!(
            !pixmap
                .pixels()
                .iter()
                .any(|c| c.red() < 40 && c.green() < 40 && c.blue() < 40)
        );
    }

    #[test]
    fn nothing_to_draw_draws_nothing() {
        let mut r = rca();
        r.figures = Figures::default();
        r.timeline.clear();
        assert!(all(&r).is_none());
        let three = all(&rca()).unwrap().into_string();
        for id in ["call-path", "error-chart", "timeline-strip"] {
            assert!(three.contains(&format!("id=\"{id}\"")), "{id}");
        }
    }
}
