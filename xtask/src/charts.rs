//! SVG charts of a bench run, drawn with plotters' SVG backend (text is left to the viewer's
//! fonts: no font or graphics library is needed to draw them).
//!
//! - Writes/s against writes in flight: one panel per group holding records `<series>_c<N>`
//!   for at least two values of N (each backend beside its anchor: `sqlite_write` with
//!   ldk-node's write path, `fs_write` with `FilesystemStoreV2`, `redis_write` with
//!   `redis-benchmark`, ...).
//! - First-page latency against namespace size: every record `[<series>_]first_page_<n>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::bench::{Records, number, text_of};

/// One line of a chart: its label and its points.
type Series = BTreeMap<String, Vec<(f64, f64)>>;

/// A chart written by [`write()`]: what it shows and where.
pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) path: PathBuf,
}

/// The file name of the concurrency chart of `group`.
pub(crate) fn concurrency_file(group: &str) -> String {
    format!("writes-vs-concurrency-{group}.svg")
}

/// The file name of the first-page chart.
pub(crate) const FIRST_PAGE_FILE: &str = "first-page-vs-namespace-size.svg";

/// Draws every chart the records allow into `dir`.
pub(crate) fn write(records: &Records, dir: &Path) -> Result<Vec<Chart>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut charts = Vec::new();
    for (group, series) in concurrency_series(records) {
        let path = dir.join(concurrency_file(&group));
        let title = format!("{group}: writes/s against writes in flight");
        draw(&path, &title, &series, Axes::concurrency()).map_err(|e| format!("{title}: {e}"))?;
        charts.push(Chart { title, path });
    }
    let series = first_page_series(records);
    if !series.is_empty() {
        let path = dir.join(FIRST_PAGE_FILE);
        let title = "first page: p50 latency against namespace size".to_owned();
        draw(&path, &title, &series, Axes::first_page()).map_err(|e| format!("{title}: {e}"))?;
        charts.push(Chart { title, path });
    }
    Ok(charts)
}

/// `(prefix, n)` of an id `<prefix><sep><n>`.
fn split_number<'a>(id: &'a str, sep: &str) -> Option<(&'a str, f64)> {
    let (prefix, n) = id.rsplit_once(sep)?;
    let n: u64 = n.parse().ok()?;
    Some((prefix, n as f64))
}

/// Per group, the series `<series>_c<N>` → (N, ops/s), keeping series of 2 points or more.
pub(crate) fn concurrency_series(records: &Records) -> BTreeMap<String, Series> {
    let mut groups: BTreeMap<String, Series> = BTreeMap::new();
    for record in records.values() {
        let group = text_of(record, "group");
        let Some((series, n)) = split_number(text_of(record, "id"), "_c") else { continue };
        let point = (n, number(record, "ops_per_sec"));
        let lines = groups.entry(group.to_owned()).or_default();
        lines.entry(series.to_owned()).or_default().push(point);
    }
    for lines in groups.values_mut() {
        lines.retain(|_, points| points.len() >= 2);
        lines.values_mut().for_each(|points| points.sort_by(|a, b| a.0.total_cmp(&b.0)));
    }
    groups.retain(|_, lines| !lines.is_empty());
    groups
}

/// Every `[<series>_]first_page_<n>` → (n, p50 µs), by `<group>[/<series>]`.
pub(crate) fn first_page_series(records: &Records) -> Series {
    let mut lines = Series::new();
    for record in records.values() {
        let id = text_of(record, "id");
        let Some((prefix, n)) = split_number(id, "first_page_") else { continue };
        let prefix = prefix.strip_suffix('_').unwrap_or(prefix);
        let group = text_of(record, "group");
        let label = if prefix.is_empty() { group.to_owned() } else { format!("{group}/{prefix}") };
        lines.entry(label).or_default().push((n, number(record, "p50_us")));
    }
    lines.values_mut().for_each(|points| points.sort_by(|a, b| a.0.total_cmp(&b.0)));
    lines
}

/// How a chart's axes are scaled and named.
struct Axes {
    x: &'static str,
    y: &'static str,
    log_y: bool,
}

impl Axes {
    fn concurrency() -> Self {
        Axes { x: "writes in flight", y: "writes/s", log_y: false }
    }

    fn first_page() -> Self {
        Axes { x: "keys in the namespace", y: "p50 latency (µs)", log_y: true }
    }
}

fn draw(
    path: &Path,
    title: &str,
    series: &Series,
    axes: Axes,
) -> Result<(), Box<dyn std::error::Error>> {
    let points = || series.values().flatten();
    let finite = |v: &f64| v.is_finite() && *v > 0.0;
    let xs: Vec<f64> = points().map(|p| p.0).filter(finite).collect();
    let ys: Vec<f64> = points().map(|p| p.1).filter(finite).collect();
    let (x_min, x_max) = bounds(&xs);
    let (y_min, y_max) = bounds(&ys);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80);
    let x_range = (x_min..x_max * 1.05).log_scale();
    if axes.log_y {
        let mut chart =
            builder.build_cartesian_2d(x_range, (y_min * 0.7..y_max * 1.5).log_scale())?;
        chart.configure_mesh().x_desc(axes.x).y_desc(axes.y).x_label_formatter(&label).draw()?;
        lines(&mut chart, series)?;
    } else {
        let mut chart = builder.build_cartesian_2d(x_range, 0.0..y_max * 1.1)?;
        chart.configure_mesh().x_desc(axes.x).y_desc(axes.y).x_label_formatter(&label).draw()?;
        lines(&mut chart, series)?;
    }
    root.present()?;
    Ok(())
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    if min.is_finite() && max > min { (min, max) } else { (1.0, 10.0) }
}

fn label(value: &f64) -> String {
    if *value >= 1000.0 { format!("{}k", (value / 1000.0).round()) } else { format!("{value:.0}") }
}

fn lines<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    series: &Series,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> =
            points.iter().copied().filter(|p| p.0 > 0.0 && p.1.is_finite() && p.1 > 0.0).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(group: &str, id: &str, ops: f64, p50: f64) -> (String, crate::bench::Record) {
        let json = serde_json::json!({
            "group": group, "id": id, "concurrency": 1, "ops_per_sec": ops, "p50_us": p50,
            "p99_us": p50, "baseline": null, "note": ""
        });
        let serde_json::Value::Object(map) = json else { unreachable!() };
        (format!("{group}/{id}"), map)
    }

    fn records() -> Records {
        [
            record("sqlite_write", "tierstore_c1", 2000.0, 400.0),
            record("sqlite_write", "tierstore_c16", 20000.0, 800.0),
            record("sqlite_write", "ldk_node_c1", 1000.0, 900.0),
            record("s3", "read_c1", 300.0, 3000.0),
            record("fs_list", "first_page_100", 50000.0, 20.0),
            record("fs_list", "first_page_20000", 48000.0, 21.0),
            record("fs_list", "fs_v2_first_page_100", 5000.0, 200.0),
            record("s3", "first_page_c1", 100.0, 9000.0),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn series_come_from_the_record_ids() {
        let records = records();
        let concurrency = concurrency_series(&records);
        assert_eq!(concurrency.keys().collect::<Vec<_>>(), ["sqlite_write"]);
        let lines = &concurrency["sqlite_write"];
        assert_eq!(lines.keys().collect::<Vec<_>>(), ["tierstore"], "one-point series dropped");
        assert_eq!(lines["tierstore"], [(1.0, 2000.0), (16.0, 20000.0)]);
        let pages = first_page_series(&records);
        assert_eq!(pages.keys().collect::<Vec<_>>(), ["fs_list", "fs_list/fs_v2"]);
        assert_eq!(pages["fs_list"], [(100.0, 20.0), (20000.0, 21.0)]);
    }

    #[test]
    fn charts_are_svg_files() {
        let dir = std::env::temp_dir().join(format!("xtask-charts-{}", std::process::id()));
        let charts = write(&records(), &dir).unwrap();
        assert_eq!(charts.len(), 2);
        for chart in &charts {
            let svg = std::fs::read_to_string(&chart.path).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{}", chart.title);
            assert!(
                svg.contains("tierstore") || svg.contains("fs_v2"),
                "legend in {}",
                chart.title
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
