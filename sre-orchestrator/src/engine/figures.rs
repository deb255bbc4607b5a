//! The figures an RCA's pictures are drawn from: the degraded call path with
//! each hop's error rate and p99 against its baseline, and the alerting
//! service's requests and errors per interval of the window.
//!
//! They are what `service_health` measured during the investigation, copied
//! into the RCA rather than read again when a page is drawn: an incident
//! page opened a week later must show what the engine saw, not what the
//! telemetry says now (or no longer keeps).

use super::Scope;
use super::parse::{ServiceHealth, clock};
use super::rules::Analysis;
use crate::rca::{Figures, Hop, Point, Series};

/// The figures for `analysis`: the path from the alerting service down
/// (or the alerting service alone when no path was followed), and the
/// first measured service's series.
pub fn build(scope: &Scope, analysis: &Analysis) -> Figures {
    let mut services: Vec<&str> = analysis.path.iter().map(String::as_str).collect();
    if services.is_empty()
        && let Some(s) = scope.service.as_deref()
    {
        services.push(s);
    }
    let path: Vec<Hop> = services
        .iter()
        .filter_map(|s| analysis.health.get(*s).map(|h| hop(s, h)))
        .collect();
    let series = services
        .iter()
        .filter_map(|s| analysis.health.get(*s).map(|h| (s, h)))
        .find_map(|(s, h)| series(scope, s, h));
    Figures { path, series }
}

fn hop(service: &str, h: &ServiceHealth) -> Hop {
    Hop {
        service: service.to_string(),
        err_pct: h.err_pct.0,
        baseline_err_pct: h.err_pct.1,
        p99_ms: h.p99_ms.0,
        baseline_p99_ms: h.p99_ms.1,
    }
}

/// The per-interval table as points in time. The server prints clock times
/// (the window lies within a day), placed before the investigation's `now`.
fn series(scope: &Scope, service: &str, h: &ServiceHealth) -> Option<Series> {
    let points: Vec<Point> = h
        .buckets
        .iter()
        .filter_map(|b| {
            Some(Point {
                at: clock(scope.now, &b.start)?,
                calls: b.calls,
                err_pct: b.err_pct,
            })
        })
        .collect();
    // Clock times that wrapped past midnight would come out of order: a
    // chart of them would lie, so there is none.
    let ordered = points.windows(2).all(|w| w[0].at < w[1].at);
    (points.len() >= 2 && ordered).then(|| Series {
        service: service.to_string(),
        interval_secs: h.bucket_secs,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::parse::Bucket;

    fn scope(service: Option<&str>) -> Scope {
        Scope {
            service: service.map(str::to_string),
            now: "2026-11-20T14:30:00Z".parse().unwrap(),
            ..Scope::test()
        }
    }

    fn health(err: f64, buckets: &[(&str, f64, Option<f64>)]) -> ServiceHealth {
        ServiceHealth {
            err_pct: (Some(err), Some(0.5)),
            p99_ms: (Some(900.0), Some(120.0)),
            buckets: buckets
                .iter()
                .map(|(start, calls, err_pct)| Bucket {
                    start: start.to_string(),
                    calls: *calls,
                    err_pct: *err_pct,
                    p99_ms: None,
                })
                .collect(),
            bucket_secs: 300,
            ..ServiceHealth::default()
        }
    }

    #[test]
    fn the_path_keeps_its_order_and_skips_unmeasured_hops() {
        let analysis = Analysis {
            path: vec!["frontend".into(), "checkout".into(), "cart".into()],
            health: [
                ("frontend".to_string(), health(4.0, &[])),
                ("cart".to_string(), health(30.0, &[])),
            ]
            .into_iter()
            .collect(),
            ..Analysis::default()
        };
        let f = build(&scope(Some("frontend")), &analysis);
        let names: Vec<&str> = f.path.iter().map(|h| h.service.as_str()).collect();
        assert_eq!(names, ["frontend", "cart"]);
        assert_eq!(f.path[1].err_pct, Some(30.0));
        assert_eq!(f.path[1].baseline_p99_ms, Some(120.0));
        // No buckets, no chart.
        assert!(f.series.is_none());
    }

    #[test]
    fn without_a_path_the_alerting_service_is_drawn_with_its_series() {
        let analysis = Analysis {
            health: [(
                "checkout".to_string(),
                health(
                    12.0,
                    &[
                        ("14:10:00", 600.0, Some(0.4)),
                        ("14:15:00", 580.0, Some(11.0)),
                        ("14:20:00", 0.0, None),
                    ],
                ),
            )]
            .into_iter()
            .collect(),
            ..Analysis::default()
        };
        let f = build(&scope(Some("checkout")), &analysis);
        assert_eq!(f.path.len(), 1);
        let s = f.series.expect("a series");
        assert_eq!(s.service, "checkout");
        assert_eq!(s.points.len(), 3);
        assert_eq!(s.points[0].at.to_string(), "2026-11-20T14:10:00Z");
        assert_eq!(s.points[2].err_pct, None);
        // Nothing measured: nothing to draw.
        assert!(build(&scope(Some("other")), &analysis).is_empty());
    }

    #[test]
    fn a_window_across_midnight_is_charted_in_order() {
        let analysis = Analysis {
            health: [(
                "checkout".to_string(),
                health(
                    12.0,
                    &[("23:55:00", 10.0, Some(1.0)), ("00:00:00", 10.0, Some(2.0))],
                ),
            )]
            .into_iter()
            .collect(),
            ..Analysis::default()
        };
        let mut s = scope(Some("checkout"));
        s.now = "2026-11-21T00:03:00Z".parse().unwrap();
        let points = build(&s, &analysis).series.expect("a series").points;
        assert_eq!(points[0].at.to_string(), "2026-11-20T23:55:00Z");
        assert_eq!(points[1].at.to_string(), "2026-11-21T00:00:00Z");
    }
}
