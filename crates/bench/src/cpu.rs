//! CPU time by process over a bench phase, read from `/proc`: on a machine whose cores the
//! load generator, ingress and RabbitMQ share, what each message costs each of them says
//! where a webhook's time goes beside a raw publish's.

use std::ops::{AddAssign, Sub};

/// CPU seconds used so far, by whom.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    /// This process: ingress, or the raw publisher (both run here).
    pub this: f64,
    /// This process's finished children: wrk, once each run has been waited for.
    pub load: f64,
    /// Every RabbitMQ node on the machine (`beam.smp`).
    pub broker: f64,
    /// Every core together: busy, and busy plus idle.
    pub busy: f64,
    pub all: f64,
}

impl CpuTimes {
    /// Now. A figure `/proc` does not give (another system) reads as 0.
    pub fn read() -> Self {
        let tick = clock_tick();
        let (this, load) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| {
                let f = stat_fields(&stat);
                Some((f.get(11)? + f.get(12)?, f.get(13)? + f.get(14)?))
            })
            .unwrap_or_default();
        let broker: f64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|p| {
                std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == "beam.smp")
            })
            .filter_map(|p| {
                let stat = std::fs::read_to_string(p.path().join("stat")).ok()?;
                let f = stat_fields(&stat);
                Some(f.get(11)? + f.get(12)?)
            })
            .sum();
        let (busy, all) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|stat| {
                let line = stat.lines().next()?.strip_prefix("cpu ")?;
                let f: Vec<f64> = line
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect();
                // user nice system idle iowait irq softirq steal
                let idle = f.get(3)? + f.get(4)?;
                let all: f64 = f.iter().take(8).sum();
                Some((all - idle, all))
            })
            .unwrap_or_default();
        Self {
            this: this / tick,
            load: load / tick,
            broker: broker / tick,
            busy: busy / tick,
            all: all / tick,
        }
    }

    /// Microseconds of each per message, and the machine's busy share, for `messages`.
    pub fn per_message(&self, messages: u64) -> PerMessage {
        let us = |s: f64| s * 1e6 / messages.max(1) as f64;
        PerMessage {
            this: us(self.this),
            load: us(self.load),
            broker: us(self.broker),
            busy_share: self.busy / self.all.max(f64::EPSILON),
        }
    }
}

impl Sub for CpuTimes {
    type Output = Self;

    fn sub(self, before: Self) -> Self {
        Self {
            this: self.this - before.this,
            load: self.load - before.load,
            broker: self.broker - before.broker,
            busy: self.busy - before.busy,
            all: self.all - before.all,
        }
    }
}

impl AddAssign for CpuTimes {
    fn add_assign(&mut self, other: Self) {
        self.this += other.this;
        self.load += other.load;
        self.broker += other.broker;
        self.busy += other.busy;
        self.all += other.all;
    }
}

/// What one message cost, in microseconds of CPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerMessage {
    pub this: f64,
    pub load: f64,
    pub broker: f64,
    /// The share of every core that was busy meanwhile (0–1).
    pub busy_share: f64,
}

impl PerMessage {
    pub fn total(&self) -> f64 {
        self.this + self.load + self.broker
    }
}

/// The fields of a `/proc/<pid>/stat` line after the command name (which may hold spaces),
/// as numbers: index 0 is the state (field 3), so utime (field 14) is index 11.
fn stat_fields(stat: &str) -> Vec<f64> {
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    rest.split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked).
fn clock_tick() -> f64 {
    static TICK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stat_line_whose_name_holds_spaces_and_parentheses() {
        let line = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 12 3 20 0 9";
        let f = stat_fields(line);
        assert_eq!(f[11], 250.0, "utime");
        assert_eq!(f[12], 75.0, "stime");
        assert_eq!(f[13], 12.0, "cutime");
        assert_eq!(f[14], 3.0, "cstime");
    }

    #[test]
    fn this_process_uses_cpu_and_the_machine_has_cores() {
        let before = CpuTimes::read();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(200) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let spent = CpuTimes::read() - before;
        assert!(x > 0);
        assert!(spent.this > 0.05, "this process spent {}s", spent.this);
        assert!(spent.all >= spent.busy && spent.busy > 0.0);
        let per = spent.per_message(1000);
        assert!((per.this - spent.this * 1000.0).abs() < 1e-6);
    }
}
