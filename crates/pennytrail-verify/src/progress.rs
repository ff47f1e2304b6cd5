//! Progress of long runs (`verify`, `export`, `check`) on standard error. On a terminal,
//! one line is redrawn in place — a bar, done/total, percent, rate and ETA — at most ten
//! times a second. Anywhere else (a CI log, a file) a plain line is printed at most at
//! every tenth of the work or every five seconds, so the log of a million-entry run stays
//! a dozen lines long.
//!
//! What a line says and when one is due are pure functions of (done, total, elapsed),
//! tested below; only [`Progress`] reads the clock and writes to stderr.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Shortest time between two redraws on a terminal: ten a second looks smooth and costs
/// one short write per 100 ms, nothing next to the work being reported.
pub const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Plain lines come at every tenth of the total (in permille, as [`permille`] counts)…
pub const PLAIN_STEP_PERMILLE: u64 = 100;
/// …or after this long without one, so a slow run still shows it is alive: at most 12
/// lines a minute, plus the ten steps.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// Characters between the bar's brackets. The longest line ("export [bar] 20-digit
/// counts…") is then about 100 columns; a typical one ("verify [bar] 1000000/1000000
/// 100.0%  250000/s  ETA 0:04") stays under 80.
pub const BAR_WIDTH: u64 = 24;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One line redrawn in place with `\r`.
    Terminal,
    /// A plain line now and then.
    Plain,
}

/// Work done in thousandths of the total (1000 when the total is 0: nothing to do is done).
pub fn permille(done: u64, total: u64) -> u64 {
    if total == 0 {
        return 1000;
    }
    (u128::from(done.min(total)) * 1000 / u128::from(total)) as u64
}

/// Items per second so far, or None before a millisecond has passed.
pub fn rate_per_s(done: u64, elapsed: Duration) -> Option<u64> {
    let ms = elapsed.as_millis();
    (ms > 0).then(|| (u128::from(done) * 1000 / ms).min(u128::from(u64::MAX)) as u64)
}

/// Time left at the rate so far, or None before anything is done.
pub fn eta(done: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    if done >= total {
        return Some(Duration::ZERO);
    }
    if done == 0 {
        return None;
    }
    let left_ms = u128::from(total - done) * elapsed.as_millis() / u128::from(done);
    Some(Duration::from_millis(
        left_ms.min(u128::from(u64::MAX)) as u64
    ))
}

/// `M:SS`, or `H:MM:SS` from an hour on (whole seconds, rounded down).
pub fn clock(duration: Duration) -> String {
    let s = duration.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The rate and the time left (or, once done, the time taken), as both line kinds show them.
fn rate_and_time(done: u64, total: u64, elapsed: Duration) -> (String, String) {
    let rate = rate_per_s(done, elapsed).map_or_else(|| "--".to_string(), |r| r.to_string());
    let time = if done >= total {
        format!("took {}", clock(elapsed))
    } else {
        format!(
            "ETA {}",
            eta(done, total, elapsed).map_or("--".to_string(), clock)
        )
    };
    (rate, time)
}

fn percent(done: u64, total: u64) -> String {
    let p = permille(done, total);
    format!("{}.{}%", p / 10, p % 10)
}

/// The terminal line, e.g. `verify [######------------------] 250000/1000000 25.0%  50000/s  ETA 0:15`.
pub fn bar_line(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let filled = permille(done, total) * BAR_WIDTH / 1000;
    let bar: String = (0..BAR_WIDTH)
        .map(|i| if i < filled { '#' } else { '-' })
        .collect();
    let (rate, time) = rate_and_time(done, total, elapsed);
    format!(
        "{label} [{bar}] {done}/{total} {}  {rate}/s  {time}",
        percent(done, total)
    )
}

/// The plain line, e.g. `verify: 250000/1000000 entries (25.0%), 50000 entries/s, ETA 0:15`.
pub fn plain_line(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let (rate, time) = rate_and_time(done, total, elapsed);
    format!(
        "{label}: {done}/{total} entries ({}), {rate} entries/s, {time}",
        percent(done, total)
    )
}

/// Decides when a report is due; pure apart from its own memory of the last one shown.
#[derive(Debug, Clone)]
pub struct Throttle {
    mode: Mode,
    /// When the last line was shown (plain mode counts its first five seconds from the start).
    last_at: Option<Duration>,
    last_step: u64,
    complete_shown: bool,
}

impl Throttle {
    pub fn new(mode: Mode) -> Throttle {
        Throttle {
            mode,
            last_at: match mode {
                Mode::Terminal => None,
                Mode::Plain => Some(Duration::ZERO),
            },
            last_step: 0,
            complete_shown: false,
        }
    }

    /// Whether (done, total) at `elapsed` since the start should be shown; if so, it is
    /// remembered as shown. The completed state is shown exactly once.
    pub fn due(&mut self, done: u64, total: u64, elapsed: Duration) -> bool {
        if self.complete_shown {
            return false;
        }
        let complete = done >= total;
        let step = permille(done, total) / PLAIN_STEP_PERMILLE;
        let since_last = self.last_at.map(|t| elapsed.saturating_sub(t));
        let due = complete
            || match self.mode {
                Mode::Terminal => since_last.is_none_or(|d| d >= REDRAW_EVERY),
                Mode::Plain => step > self.last_step || since_last.is_none_or(|d| d >= PLAIN_EVERY),
            };
        if due {
            self.last_at = Some(elapsed);
            self.last_step = step;
            self.complete_shown = complete;
        }
        due
    }
}

/// A progress report on stderr for one run. Call [`Progress::update`] as often as is
/// convenient (it throttles itself) and [`Progress::finish`] before printing the result,
/// so a terminal's bar line is ended first; dropping it on an error path ends it too.
pub struct Progress {
    label: &'static str,
    mode: Mode,
    started: Instant,
    throttle: Throttle,
    /// A terminal line is drawn and not yet ended with a newline.
    line_open: bool,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new(label: &'static str) -> Progress {
        let mode = if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Progress::with_mode(label, mode)
    }

    pub fn with_mode(label: &'static str, mode: Mode) -> Progress {
        Progress {
            label,
            mode,
            started: Instant::now(),
            throttle: Throttle::new(mode),
            line_open: false,
        }
    }

    /// Reports `done` of `total` items, if a report is due.
    pub fn update(&mut self, done: u64, total: u64) {
        let elapsed = self.started.elapsed();
        if !self.throttle.due(done, total, elapsed) {
            return;
        }
        // Progress is best effort: a closed or full stderr must not fail the run.
        let mut err = std::io::stderr().lock();
        match self.mode {
            Mode::Terminal => {
                // `\x1b[K` clears what a longer previous line left to the right.
                let _ = write!(
                    err,
                    "\r{}\x1b[K",
                    bar_line(self.label, done, total, elapsed)
                );
                self.line_open = true;
            }
            Mode::Plain => {
                let _ = writeln!(err, "{}", plain_line(self.label, done, total, elapsed));
            }
        }
        let _ = err.flush();
    }

    /// Ends the terminal line, so what is printed next starts on a line of its own.
    pub fn finish(mut self) {
        self.end_line();
    }

    fn end_line(&mut self) {
        if self.line_open {
            let _ = writeln!(std::io::stderr());
            self.line_open = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.end_line();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn numbers() {
        assert_eq!(permille(0, 10), 0);
        assert_eq!(permille(1, 3), 333);
        assert_eq!(permille(10, 10), 1000);
        assert_eq!(permille(11, 10), 1000);
        assert_eq!(permille(0, 0), 1000);
        assert_eq!(permille(u64::MAX - 1, u64::MAX), 999);
        assert_eq!(rate_per_s(500, ms(250)), Some(2000));
        assert_eq!(rate_per_s(5, Duration::ZERO), None);
        assert_eq!(eta(250, 1000, s(10)), Some(s(30)));
        assert_eq!(eta(0, 1000, s(10)), None);
        assert_eq!(eta(1000, 1000, s(10)), Some(Duration::ZERO));
        assert_eq!(eta(1, u64::MAX, s(1)).map(|d| d > s(1 << 40)), Some(true));
        assert_eq!(clock(s(0)), "0:00");
        assert_eq!(clock(s(65)), "1:05");
        assert_eq!(clock(ms(59_999)), "0:59");
        assert_eq!(clock(s(3600 + 2 * 60 + 3)), "1:02:03");
        assert_eq!(clock(s(100 * 3600)), "100:00:00");
    }

    #[test]
    fn bar_lines() {
        assert_eq!(
            bar_line("verify", 250_000, 1_000_000, s(5)),
            "verify [######------------------] 250000/1000000 25.0%  50000/s  ETA 0:15"
        );
        assert_eq!(
            bar_line("check", 0, 7, Duration::ZERO),
            "check [------------------------] 0/7 0.0%  --/s  ETA --"
        );
        assert_eq!(
            bar_line("export", 7, 7, ms(1500)),
            "export [########################] 7/7 100.0%  4/s  took 0:01"
        );
        // Just short of a whole cell is not a cell: the bar never runs ahead of the work.
        assert_eq!(
            bar_line("v", 41, 1000, s(1)),
            "v [------------------------] 41/1000 4.1%  41/s  ETA 0:23"
        );
        assert_eq!(
            bar_line("v", 42, 1000, s(1)),
            "v [#-----------------------] 42/1000 4.2%  42/s  ETA 0:22"
        );
        assert_eq!(
            bar_line("v", 0, 0, Duration::ZERO),
            "v [########################] 0/0 100.0%  --/s  took 0:00"
        );
    }

    #[test]
    fn plain_lines() {
        assert_eq!(
            plain_line("verify", 250_000, 1_000_000, s(5)),
            "verify: 250000/1000000 entries (25.0%), 50000 entries/s, ETA 0:15"
        );
        assert_eq!(
            plain_line("check", 3, 3, s(62)),
            "check: 3/3 entries (100.0%), 0 entries/s, took 1:02"
        );
    }

    /// The reports due when `done` advances by `step` every `tick` up to `total`.
    fn shown(mode: Mode, total: u64, step: u64, tick: Duration) -> Vec<(u64, Duration)> {
        let mut throttle = Throttle::new(mode);
        let mut out = Vec::new();
        let mut done = 0;
        let mut elapsed = Duration::ZERO;
        loop {
            if throttle.due(done, total, elapsed) {
                out.push((done, elapsed));
            }
            if done == total {
                break;
            }
            done = (done + step).min(total);
            elapsed += tick;
        }
        // Reports after completion are never shown again.
        assert!(!throttle.due(total, total, elapsed + s(60)));
        out
    }

    #[test]
    fn plain_mode_prints_every_tenth_and_the_end() {
        // 1000 items, 1 per ms: one line per 10% and none twice; the 100% line once.
        let lines = shown(Mode::Plain, 1000, 1, ms(1));
        let done: Vec<u64> = lines.iter().map(|(d, _)| *d).collect();
        assert_eq!(
            done,
            vec![100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
        );
    }

    #[test]
    fn plain_mode_prints_every_five_seconds_when_slow() {
        // 1000 items, 1 a second: a 10% step every 100 s, and a line every 5 s between.
        let lines = shown(Mode::Plain, 1000, 1, s(1));
        assert_eq!(lines[0], (5, s(5)));
        assert_eq!(lines[1], (10, s(10)));
        assert_eq!(lines.len(), 200, "every 5 s for 1000 s");
        assert_eq!(lines.last(), Some(&(1000, s(1000))));
    }

    #[test]
    fn terminal_mode_redraws_at_most_ten_times_a_second() {
        // 100,000 items, 100 per ms: 1 s of work, so 10 redraws plus the first and the end.
        let lines = shown(Mode::Terminal, 100_000, 100, ms(1));
        assert_eq!(lines[0], (0, Duration::ZERO));
        assert_eq!(lines[1], (10_000, ms(100)));
        for pair in lines.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= REDRAW_EVERY || pair[1].0 == 100_000);
        }
        assert_eq!(lines.len(), 11);
        assert_eq!(lines.last(), Some(&(100_000, ms(1000))));
    }

    #[test]
    fn empty_work_is_reported_once() {
        for mode in [Mode::Terminal, Mode::Plain] {
            let mut throttle = Throttle::new(mode);
            assert!(throttle.due(0, 0, Duration::ZERO));
            assert!(!throttle.due(0, 0, s(10)));
        }
    }
}
