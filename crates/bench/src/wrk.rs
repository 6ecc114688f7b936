//! An outside load generator for `sklad-bench ingress --load wrk`: wrk (Debian's package)
//! with `tests/load/webhook.lua`, so the webhook figures do not depend on the project's own
//! HTTP client.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

/// What wrk measured in one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkPhase {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub requests: u64,
    /// Answers other than 2xx/3xx, and socket errors.
    pub errors: u64,
}

/// Runs wrk against `url` for `seconds` with `connections` open connections (two threads).
pub async fn run(
    url: &str,
    body_file: &Path,
    seconds: u64,
    connections: usize,
) -> anyhow::Result<WrkPhase> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/load/webhook.lua");
    let out = tokio::process::Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["--latency", "-s", script, url])
        .env("SKLAD_WEBHOOK_BODY", body_file)
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "wrk failed: {text}");
    parse(&text)
}

/// Reads wrk's report (`--latency`).
pub fn parse(report: &str) -> anyhow::Result<WrkPhase> {
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix).map(str::trim))
    };
    let rate: f64 = field("Requests/sec:")
        .context("no Requests/sec in wrk's report")?
        .parse()?;
    let requests: u64 = report
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .context("no request count in wrk's report")?
        .0
        .trim()
        .parse()?;
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .map(str::parse)
        .transpose()?
        .unwrap_or(0);
    let socket: u64 = field("Socket errors:")
        .map(|errors| {
            errors
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(WrkPhase {
        rate,
        p50: duration(field("50%").context("no p50 in wrk's report")?)?,
        p99: duration(field("99%").context("no p99 in wrk's report")?)?,
        requests,
        errors: non_2xx + socket,
    })
}

/// `812.00us`, `1.23ms`, `2.50s`, `1.05m`.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .context("a duration without a unit")?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        other => anyhow::bail!("unknown unit {other}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 5s test @ http://127.0.0.1:8080/webhooks/keycrm/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.10ms    2.00ms  40.00ms   80.00%
    Req/Sec     3.50k   200.00     4.00k    70.00%
  Latency Distribution
     50%    8.52ms
     75%   10.01ms
     90%   12.00ms
     99%   20.40ms
  34837 requests in 5.00s, 4.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   6967.40
Transfer/sec:    843.21KB
";
        let phase = parse(report).unwrap();
        assert_eq!(phase.requests, 34837);
        assert!((phase.rate - 6967.4).abs() < 1e-9);
        assert_eq!(phase.p50, Duration::from_micros(8520));
        assert_eq!(phase.p99, Duration::from_micros(20400));
        assert_eq!(phase.errors, 7);
        assert_eq!(duration("812.00us").unwrap(), Duration::from_micros(812));
    }
}

/// Who sends the ingress bench's webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Load {
    Lean,
    Wrk,
}

/// How the ingress bench loads and watches ingress.
#[derive(Debug, Clone, Copy)]
pub struct How {
    pub load: Load,
    pub profile: bool,
}

/// Where `--profile` leaves perf's samples.
const PROFILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/ingress.perf.data"
);

/// Samples this process's CPU (ingress, in-process) for `duration` with `perf record`.
pub fn profile(duration: Duration) -> impl std::future::Future<Output = anyhow::Result<()>> {
    let child = tokio::process::Command::new("perf")
        .args(["record", "-q", "-F", "499", "--call-graph", "dwarf,16384"])
        .args(["-o", PROFILE, "-p"])
        .arg(std::process::id().to_string())
        .args(["--", "sleep"])
        .arg(duration.as_secs().to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    async move {
        let status = child
            .context("running perf (apt-get install linux-perf)")?
            .wait()
            .await?;
        anyhow::ensure!(status.success(), "perf record failed");
        Ok(())
    }
}

/// Where the sampled time went: by thread and library, then the call sites (with what they
/// call) that took 4 % or more, among ingress's own, actix's HTTP, lapin's, the allocator's
/// and the kernel's scheduling and loopback TCP.
pub fn print_profile() -> anyhow::Result<()> {
    let report = |args: &[&str]| -> anyhow::Result<String> {
        let out = std::process::Command::new("perf")
            .args(["report", "-i", PROFILE, "--stdio", "-g", "none"])
            .args(args)
            .output()
            .context("running perf report")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let rows = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim_end().to_owned())
            .collect::<Vec<_>>()
    };
    println!();
    println!(
        "where the CPU time of this process (ingress) went, round 1's webhook phase ({PROFILE}):"
    );
    for line in rows(&report(&[
        "--no-children",
        "--sort",
        "comm,dso",
        "--percent-limit",
        "2",
    ])?) {
        println!("  {line}");
    }
    println!("call sites, with what they call:");
    let wanted = [
        "sklad_",
        "actix_http",
        "lapin::",
        "flume::",
        "malloc",
        "futex",
        "schedule",
        "tcp_v4",
    ];
    for line in rows(&report(&[
        "--children",
        "--sort",
        "sym",
        "--percent-limit",
        "4",
    ])?)
    .into_iter()
    .filter(|l| wanted.iter().any(|w| l.contains(w)))
    .take(20)
    {
        println!("  {}", line.chars().take(120).collect::<String>());
    }
    Ok(())
}

/// One round: wrk's webhooks against the raw publishes beside them.
pub fn print_round(round: usize, wrk: &WrkPhase, raw_rate: f64, raw_p99: Duration) {
    println!(
        "{:<26} {:>10.0} {:>10.2} {:>10.2} {:>8}",
        "ingress webhook (wrk)",
        wrk.rate,
        crate::ms(wrk.p50),
        crate::ms(wrk.p99),
        wrk.errors
    );
    println!(
        "{:<26} {:>10.2}x {:>21.2}x p99",
        format!("  round {round} ratio"),
        wrk.rate / raw_rate,
        crate::ms(wrk.p99) / crate::ms(raw_p99)
    );
}

/// Every round together: wrk's webhooks per second over all rounds against the raw
/// publishes', and the median round's p99 against the raw p99 of all rounds.
pub fn print_summary(rounds: &[WrkPhase], raw_rate: f64, wrk_p99: Duration, raw_p99: Duration) {
    let requests: u64 = rounds.iter().map(|r| r.requests).sum();
    let seconds: f64 = rounds.iter().map(|r| r.requests as f64 / r.rate).sum();
    let errors: u64 = rounds.iter().map(|r| r.errors).sum();
    let rate = requests as f64 / seconds.max(f64::EPSILON);
    println!();
    println!(
        "all {} rounds: wrk {rate:.0} webhooks/s ({errors} errors), raw {raw_rate:.0} publishes/s",
        rounds.len()
    );
    println!(
        "ingress (wrk) / raw publish: throughput {:.2}x, p99 {:.2}x ({:.2} ms against {:.2} ms)",
        rate / raw_rate,
        crate::ms(wrk_p99) / crate::ms(raw_p99),
        crate::ms(wrk_p99),
        crate::ms(raw_p99)
    );
}

/// CPU per message by process, over every phase but the profiled one: what a webhook
/// costs the machine (the load generator included: it shares the cores) beside a raw
/// publish.
pub fn print_cpu(webhook: &crate::cpu::PerMessage, raw: &crate::cpu::PerMessage) {
    println!(
        "CPU per message, µs:        {:>12} {:>10} {:>9} {:>8} {:>11}",
        "this process", "wrk", "RabbitMQ", "total", "cores busy"
    );
    for (name, cost) in [
        ("  ingress webhook (wrk)", webhook),
        ("  confirmed publish (raw)", raw),
    ] {
        println!(
            "{name:<28} {:>12.1} {:>10.1} {:>9.1} {:>8.1} {:>10.0}%",
            cost.this,
            cost.load,
            cost.broker,
            cost.total(),
            cost.busy_share * 100.0
        );
    }
    println!(
        "a webhook costs the machine {:.2}x a raw publish's CPU",
        webhook.total() / raw.total().max(f64::EPSILON)
    );
}
