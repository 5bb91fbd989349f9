//! The poll schedule, simulated with no clock: for jobs of 1, 3, 5, 15 and 30 minutes, each
//! with a history of 20 successful runs scattered ±20% around that duration: how long after
//! the job's end the wait sees it (the detection delay) and how many GetJob calls it makes,
//! today's schedule (a poll at once, then from 5 s growing by half to 30 s) against the one
//! planned from history. This run ends at 40 points spread evenly over the ±20% scatter, at
//! 10 around 3x slower than usual, and (reported, outside the budget) at 40 from 1.2x to 3x.
//!
//! Budgets: median delay at most 5 s over the runs within ±20% of their history; no more
//! GetJob calls in total than today's; never two polls less than 2 s apart. Exits 1 on a miss.
//!
//! Run: cargo bench --bench polls

use std::time::Duration;

use amplify_start_job::schedule::{Schedule, plain};

const DURATIONS: [f64; 5] = [60.0, 180.0, 300.0, 900.0, 1800.0];
const POLL: Duration = Duration::from_secs(5);

/// (detection delay, GetJob calls, smallest gap) for a job ending at `end`.
fn simulate(mut s: Schedule, end: f64) -> (f64, u32, f64) {
    let (mut t, mut calls, mut gap) = (0.0, 1, f64::MAX);
    while t < end {
        let d = s.next_delay(t);
        gap = gap.min(d);
        t += d;
        calls += 1;
    }
    (t - end, calls, gap)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Totals {
    today: u32,
    planned: u32,
    gap: f64,
}

/// One row: the mean delay and calls of both schedules over `ends` (seconds), and the
/// planned schedule's delays.
fn row(d: f64, label: &str, ends: &[f64], history: &[f64], totals: &mut Totals) -> Vec<f64> {
    let (mut today, mut planned) = ((0.0, 0), (0.0, 0));
    let mut delays = Vec::new();
    for &end in ends {
        let t = simulate(plain(POLL), end);
        let p = simulate(Schedule::new(POLL, history), end);
        today = (today.0 + t.0, today.1 + t.1);
        planned = (planned.0 + p.0, planned.1 + p.1);
        totals.gap = totals.gap.min(p.2);
        delays.push(p.0);
    }
    totals.today += today.1;
    totals.planned += planned.1;
    let n = ends.len() as f64;
    println!(
        "| {}m | {label} | {:.1} s, {:.1} | {:.1} s, {:.1} |",
        d / 60.0,
        today.0 / n,
        today.1 as f64 / n,
        planned.0 / n,
        planned.1 as f64 / n
    );
    delays
}

/// `n` ends spread evenly over `from..to` times the usual duration.
fn spread(d: f64, from: f64, to: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| d * (from + (to - from) * (k as f64 + 0.5) / n as f64))
        .collect()
}

fn main() {
    let mut totals = Totals {
        today: 0,
        planned: 0,
        gap: f64::MAX,
    };
    let mut slower = Totals {
        today: 0,
        planned: 0,
        gap: f64::MAX,
    };
    let mut failed = Vec::new();
    println!(
        "| job | run | today: mean delay, calls | planned: mean delay, calls |\n|---|---|---|---|"
    );
    for d in DURATIONS {
        let history: Vec<f64> = (0..20).map(|k| d * (0.8 + 0.4 * k as f64 / 19.0)).collect();
        let within = row(
            d,
            "within ±20% (40 runs)",
            &spread(d, 0.8, 1.2, 40),
            &history,
            &mut totals,
        );
        row(
            d,
            "x3 (10 runs)",
            &spread(d, 2.95, 3.05, 10),
            &history,
            &mut totals,
        );
        row(
            d,
            "x1.2 to x3 (outside the budget, 40 runs)",
            &spread(d, 1.2, 3.0, 40),
            &history,
            &mut slower,
        );
        let m = median(within);
        println!("| {}m | median delay within ±20% | | {m:.1} s |", d / 60.0);
        if m > 5.0 {
            failed.push(format!("{d} s jobs: median delay {m:.1} s"));
        }
    }
    println!(
        "GetJob calls in total: today {}, planned {}; for the runs x1.2 to x3: today {}, planned {}",
        totals.today, totals.planned, slower.today, slower.planned
    );
    if totals.planned > totals.today {
        failed.push(format!(
            "{} calls, more than today's {}",
            totals.planned, totals.today
        ));
    }
    if totals.gap.min(slower.gap) < 2.0 {
        failed.push(format!("polls {:.1} s apart", totals.gap.min(slower.gap)));
    }
    if !failed.is_empty() {
        eprintln!("budget missed: {}", failed.join("; "));
        std::process::exit(1);
    }
}
