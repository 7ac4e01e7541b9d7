//! The one progress path of the long commands (`copy`, `verify`, `resilver`, `restore`,
//! `demo`): a progress bar on stderr when it is a terminal, nothing otherwise; then one
//! summary line on stdout, so a script reads exactly one line per command.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use tierstore::repair;

use crate::transfer::human_bytes;

/// A progress report in the making.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Whether progress is drawn: stderr is a terminal.
    pub(crate) fn shown() -> bool {
        std::io::stderr().is_terminal()
    }

    /// A bar of `len` steps labelled `what` (hidden when not [`shown`](Self::shown)).
    pub(crate) fn start(what: &str, len: u64) -> Progress {
        if !Self::shown() {
            return Progress { bar: ProgressBar::hidden() };
        }
        let bar = ProgressBar::new(len);
        let style = ProgressStyle::with_template(&format!(
            "{what} [{{elapsed_precise}}] {{bar:40.cyan/blue}} {{pos}}/{{len}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Progress { bar }
    }

    /// One step done.
    pub(crate) fn inc(&self) {
        self.bar.inc(1);
    }

    /// Where a walk over two stores is.
    pub(crate) fn update(&self, p: &repair::Progress) {
        self.bar.set_position(p.scanned);
        self.bar.set_message(format!(
            "{} copied, {} removed, {}",
            p.copied,
            p.removed,
            human_bytes(p.bytes)
        ));
    }

    /// A callback for [`repair::Scan::progress`] and the builder's `on_progress`.
    pub(crate) fn callback(&self) -> impl Fn(&repair::Progress) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |p| Progress { bar: bar.clone() }.update(p)
    }

    /// Moves the bar to `position` with `message` (`rotate`'s own progress).
    #[cfg(feature = "encryption")]
    pub(crate) fn set(&self, position: u64, message: String) {
        self.bar.set_position(position);
        self.bar.set_message(message);
    }

    /// Clears the bar and prints the summary line.
    pub(crate) fn finish(self, summary: &str) {
        self.bar.finish_and_clear();
        println!("{summary}");
    }

    /// Clears the bar without a summary (the command failed).
    pub(crate) fn abandon(&self) {
        self.bar.finish_and_clear();
    }
}

/// The bar's length: the keys `scan` includes in `store`, counted only when a bar is drawn
/// (a count is a walk over every namespace).
pub(crate) async fn length(
    store: &dyn tierstore::Backend,
    scan: repair::Scan<'_>,
) -> Result<u64, tierstore::Error> {
    if Progress::shown() { repair::count_keys(store, scan).await } else { Ok(0) }
}
