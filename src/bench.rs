//! `admit bench`: the load benchmark behind `make bench` (issue #8).
//!
//! For each backend (SQLite, then PostgreSQL) it makes a fresh database,
//! seeds one published event whose one tier draws on a quota of 100,000,
//! plus buyer accounts with access tokens, then starts the real server (this
//! very binary, `admit serve`, as a child process on 127.0.0.1) and drives it
//! over HTTP:
//!
//! - **closed loop**: many concurrent buyers, each taking holds back to back;
//! - **open loop**: holds offered at fixed rates, each request's latency
//!   measured from its *scheduled* start, so a slow server cannot slow the
//!   offered load down and hide its own queueing (no coordinated omission);
//! - **full purchase**: hold → checkout → the simulated gateway's signed
//!   webhook → paid.
//!
//! Every hold uses a buyer of its own: a buyer's second hold on an event
//! replaces the first, and then `sold + held` could no longer be checked
//! against the holds granted. The tables go to stdout (`make bench` tees them
//! into `target/bench-output.txt`); progress goes to stderr.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use sqlx::Connection;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    clock::SystemClock,
    config::{self, Config, Settings},
    domain::{Category, Currency, EventId, EventStatus, QuotaId, TierId, UserId},
    services::{payments, tokens},
    state::AppState,
    store::{NewEvent, NewOrganization, NewQuota, NewTier, NewUser, StoreOptions},
};

/// How the server takes holds in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `ADMIT_GROUP_ADMISSION=false`: one transaction per hold. Only the
    /// closed loop runs, for the ratio.
    OneByOne,
    /// Group admission, the default: many holds per transaction.
    Group,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::OneByOne => "one hold per transaction",
            Mode::Group => "group admission",
        }
    }

    fn dir(self) -> &'static str {
        match self {
            Mode::OneByOne => "one-by-one",
            Mode::Group => "group",
        }
    }
}

/// How long past its end an open-loop step may still send requests that
/// were waiting for a free slot (see [`BenchArgs::max_in_flight`]).
const OPEN_LOOP_GRACE: Duration = Duration::from_secs(10);

/// The error kind of the open-loop requests never sent.
const UNSENT: &str = "not sent: still no free slot 10 s after the step's end";

/// Purchases per second one purchase worker is assumed never to exceed, to
/// reserve buyers for the purchase phase before the closed loop runs.
const PURCHASES_PER_WORKER_SECOND: usize = 20;

/// A database backend to benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The scale-out option.
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The options of `admit bench` (`make bench BENCH_ARGS="…"`).
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// Seconds of the closed loop and of the purchase phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seconds of each open-loop rate (default: `--seconds`, at most 5).
    #[arg(long)]
    pub open_seconds: Option<u64>,
    /// Backends to run, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Sqlite, Backend::Postgres])]
    pub backends: Vec<Backend>,
    /// Concurrent buyers of the closed loop.
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// Offered rates of the open loop, in holds per second.
    #[arg(long, value_delimiter = ',', default_values_t = [500, 1000, 2000, 4000])]
    pub rates: Vec<u64>,
    /// Most open-loop requests in flight at once; a request past it waits for
    /// a slot, and that wait counts in its latency.
    #[arg(long, default_value_t = 4000)]
    pub max_in_flight: usize,
    /// Concurrent buyers of the purchase phase.
    #[arg(long, default_value_t = 50)]
    pub purchase_concurrency: usize,
    /// Size of the hot tier's quota.
    #[arg(long, default_value_t = 100_000)]
    pub quota: i64,
    /// Buyer accounts to seed (default: as many as the quota).
    #[arg(long)]
    pub buyers: Option<usize>,
    /// A PostgreSQL URL with the right to create databases; the benchmark
    /// drops and re-creates the database `admit_bench` on that server.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub pg_url: String,
    /// Where the SQLite database, the server logs and the generated
    /// development secrets go (emptied per backend).
    #[arg(long, default_value = "target/bench")]
    pub work_dir: PathBuf,
    /// The server's log filter (`ADMIT_LOG`). Only warnings, and not sqlx's
    /// "slow acquire" warning: under a thousand concurrent buyers it fires for
    /// most requests, and writing it would be measured (the wait itself shows
    /// in the latencies).
    #[arg(long, default_value = "warn,sqlx::pool::acquire=error")]
    pub server_log: String,
    /// The open-loop headline: the highest offered rate whose p99 is below
    /// this many milliseconds.
    #[arg(long, default_value_t = 100)]
    pub p99_target_ms: u64,
}

impl BenchArgs {
    fn open_seconds(&self) -> u64 {
        self.open_seconds.unwrap_or(self.seconds.min(5)).max(1)
    }

    fn buyers(&self) -> usize {
        self.buyers
            .unwrap_or_else(|| usize::try_from(self.quota).unwrap_or(0))
    }

    /// How many buyers each phase may use: the open loop and the purchases
    /// first (their need is known or bounded), the closed loop the rest.
    fn budget(&self) -> anyhow::Result<Budget> {
        let open: usize = self
            .rates
            .iter()
            .map(|r| usize::try_from(r * self.open_seconds()).unwrap_or(usize::MAX))
            .sum();
        let purchase = self.purchase_concurrency
            * usize::try_from(self.seconds.max(1)).unwrap_or(usize::MAX)
            * PURCHASES_PER_WORKER_SECOND;
        let total = self.buyers();
        let Some(closed) = total.checked_sub(open + purchase) else {
            bail!(
                "{total} buyers are too few: the open loop needs {open} and the purchases up to {purchase}; \
                 pass --buyers, or shorter --open-seconds / --seconds"
            );
        };
        if closed < self.concurrency {
            bail!(
                "only {closed} buyers are left for the closed loop of {} concurrent buyers; pass a larger --buyers",
                self.concurrency
            );
        }
        Ok(Budget {
            closed,
            open,
            purchase,
        })
    }
}

/// Buyers per phase.
#[derive(Clone, Copy, Debug)]
struct Budget {
    closed: usize,
    open: usize,
    purchase: usize,
}

/// Runs the benchmark on every backend asked for.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.seconds == 0 || args.concurrency == 0 || args.purchase_concurrency == 0 {
        bail!("--seconds, --concurrency and --purchase-concurrency must be at least 1");
    }
    if args.rates.contains(&0) || args.max_in_flight == 0 {
        bail!("open-loop rates and --max-in-flight must be at least 1");
    }
    let budget = args.budget()?;
    // The benchmark's own store logs only problems; the server child has its
    // own filter (`--server-log`).
    let quiet = settings(&[("ADMIT_LOG".into(), "warn".into())])?;
    crate::telemetry::init_tracing(&quiet);

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    let defaults = settings(&[])?;
    writeln!(
        out,
        "admit bench — per backend: the closed loop with one hold per transaction, then every phase with group admission \
         (batches of up to {} holds, the first waiting up to {} ms for company)",
        defaults.admission_max_batch, defaults.admission_max_wait_ms
    )?;
    writeln!(
        out,
        "machine: {cpus} CPUs, shared by the server, the load generator and (for PostgreSQL) the database"
    )?;
    writeln!(
        out,
        "phases: closed loop {} buyers × {} s; open loop {} holds/s × {} s each (at most {} in flight); \
         purchases {} buyers × {} s",
        args.concurrency,
        args.seconds,
        join(&args.rates),
        args.open_seconds(),
        args.max_in_flight,
        args.purchase_concurrency,
        args.seconds,
    )?;
    writeln!(
        out,
        "quota {} units, {} buyers (closed loop up to {}, open loop {}, purchases up to {}); one unit per hold",
        args.quota,
        args.buyers(),
        budget.closed,
        budget.open,
        budget.purchase
    )?;
    print!("{out}");
    let mut failed = Vec::new();
    for backend in &args.backends {
        let mut rates = Vec::new();
        for mode in [Mode::OneByOne, Mode::Group] {
            match run_backend(&args, budget, *backend, mode).await {
                Ok((ok, holds_per_s)) => {
                    rates.push(holds_per_s);
                    if !ok {
                        failed.push(backend.name());
                    }
                }
                Err(e) => {
                    println!("\n== {}, {} ==\nFAILED: {e:#}", backend.name(), mode.name());
                    failed.push(backend.name());
                }
            }
        }
        if let [one_by_one, group] = rates[..] {
            println!(
                "\n{}: closed loop, group admission {group:.1} holds/s ÷ one hold per transaction {one_by_one:.1} holds/s = {:.2}×",
                backend.name(),
                group / one_by_one.max(f64::MIN_POSITIVE)
            );
        }
    }
    if !failed.is_empty() {
        bail!(
            "the benchmark failed or the stock did not add up on: {}",
            failed.join(", ")
        );
    }
    Ok(())
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

fn progress(msg: impl std::fmt::Display) {
    eprintln!("[bench] {msg}");
}

/// Settings from `Leptos.toml` (or `ADMIT_CONFIG`) with `overrides` winning
/// over the environment.
fn settings(overrides: &[(String, String)]) -> anyhow::Result<Settings> {
    let path = std::env::var(config::CONFIG_PATH_VAR).unwrap_or_else(|_| "Leptos.toml".into());
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("while reading {path} (run the benchmark from the repository)"))?;
    Settings::parse(&text, |k| {
        overrides
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(k).ok())
    })
}

/// Environment variables the server child must not inherit: the benchmark
/// always uses development secrets generated into its own data directory
/// (shared with the child, so both sign and check the same tokens) and the
/// simulated payment gateway.
fn not_inherited() -> impl Iterator<Item = &'static str> {
    config::SECRETS
        .iter()
        .map(|(var, _)| *var)
        .chain(config::PROVIDERS.iter().copied())
}

/// One backend: fresh database, seed, server, three phases, stop. Returns
/// whether the stock added up after every phase.
/// One backend in one mode; whether the stock added up, and the closed
/// loop's holds per second.
async fn run_backend(
    args: &BenchArgs,
    budget: Budget,
    backend: Backend,
    mode: Mode,
) -> anyhow::Result<(bool, f64)> {
    let load_start = loadavg();
    let dir = std::path::absolute(args.work_dir.join(backend.name()).join(mode.dir()))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("while emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("admit.db").display()),
        Backend::Postgres => fresh_pg_database(&args.pg_url, "admit_bench").await?,
    };
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = [
        ("ADMIT_ENV", "development".to_owned()),
        ("ADMIT_DATABASE_URL", url.clone()),
        ("ADMIT_SITE_ADDR", format!("127.0.0.1:{port}")),
        ("ADMIT_PUBLIC_URL", base.clone()),
        ("ADMIT_DATA_DIR", dir.join("data").display().to_string()),
        ("ADMIT_LOG", args.server_log.clone()),
        ("ADMIT_LOG_FORMAT", "json".to_owned()),
        ("ADMIT_TLS", "off".to_owned()),
        // No hold may end, and no token expire, while the benchmark runs:
        // the sweeper would lower `held` and spoil the stock check.
        ("ADMIT_HOLD_MINUTES", "240".to_owned()),
        ("ADMIT_ACCESS_TOKEN_MINUTES", "240".to_owned()),
        ("ADMIT_GROUP_ADMISSION", (mode == Mode::Group).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = settings(&env)?;
    let pool_size = settings.db_max_connections;
    let config = Config::from_settings(settings, |k| {
        if not_inherited().any(|v| v == k) {
            None
        } else {
            std::env::var(k).ok().filter(|v| !v.is_empty())
        }
    })?;
    progress(format!("{}: migrating and seeding {url}", backend.name()));
    let seeding = Instant::now();
    let state = crate::startup::build_state(
        config,
        Arc::new(SystemClock::new()),
        StoreOptions {
            max_connections: 8,
            ..StoreOptions::default()
        },
    )
    .await?;
    let mut raw = Raw::connect(&url).await?;
    // The one-by-one run has only the closed loop.
    let buyers = match mode {
        Mode::OneByOne => budget.closed,
        Mode::Group => args.buyers(),
    };
    let seeded = seed(&state, &mut raw, args.quota, buyers).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();

    let log = dir.join("server.log");
    let server = Server::start(&env, &log, &base).await?;
    let mut out = String::new();
    writeln!(out, "\n== {}, {} ==", backend.name(), mode.name())?;
    writeln!(out, "load average at start: {load_start}")?;
    writeln!(
        out,
        "seeded: 1 published event, 1 tier on a quota of {}, {} buyers with access tokens ({seed_secs:.1} s)",
        args.quota,
        seeded.tokens.len()
    )?;
    writeln!(
        out,
        "server: `admit serve` pid {} on {base}, pool of {pool_size} connections, log filter {:?} ({})",
        server.pid,
        args.server_log,
        log.display()
    )?;
    print!("{out}");

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .build()?;
    let target = Target {
        client,
        base: Arc::from(base.as_str()),
        hold_body: Arc::from(
            serde_json::json!({
                "event_id": seeded.event.as_str(),
                "tiers": [{"tier_id": seeded.tier.as_str(), "quantity": 1}],
            })
            .to_string(),
        ),
        tokens: Arc::new(seeded.tokens),
    };
    let pg = backend == Backend::Postgres;
    let mut all_ok = true;
    let mut ledger = Ledger::default();

    // Closed loop.
    progress(format!(
        "{}: closed loop, {} buyers, {} s",
        backend.name(),
        args.concurrency,
        args.seconds
    ));
    let allot = Allot::new(0, budget.closed);
    let cpu0 = CpuSample::take(server.pid, &mut raw).await;
    let batches0 = Batches::take(&target).await;
    let closed = closed_loop(
        &target,
        &allot,
        args.concurrency,
        Duration::from_secs(args.seconds),
    )
    .await?;
    let cpu = CpuSample::take(server.pid, &mut raw).await.since(&cpu0);
    let batches = Batches::take(&target).await.since(batches0);
    ledger
        .record(
            &mut raw,
            &seeded.ids,
            &closed.tally,
            closed.tally.granted,
            0,
        )
        .await?;
    let quota = raw.quota(&seeded.quota).await?;
    let mut out = String::new();
    writeln!(
        out,
        "\nclosed loop: {} concurrent buyers, each taking holds back to back for {} s",
        args.concurrency, args.seconds
    )?;
    write_rate_table(&mut out, "hold", &closed.tally, closed.elapsed, cpu.server)?;
    write_problems(&mut out, &closed.tally, closed.exhausted)?;
    write_cpu(&mut out, &cpu, pg, closed.tally.granted)?;
    if mode == Mode::Group {
        writeln!(out, "  batches: {}", batches.describe())?;
    }
    all_ok &= write_quota(&mut out, quota, &ledger)?;
    print!("{out}");
    let closed_rate = rate(closed.tally.granted, closed.elapsed);
    if mode == Mode::OneByOne {
        return finish(backend, server, state, raw, &log, all_ok, closed_rate).await;
    }

    // Open loop.
    let open_secs = args.open_seconds();
    let mut out = String::new();
    writeln!(
        out,
        "\nopen loop: holds offered at fixed rates for {open_secs} s each; latency from each request's scheduled start"
    )?;
    writeln!(
        out,
        "  {:>9}  {:>10}  {:>8}  {:>8}  {:>7}  {:>16}  {:>18}  {:>12}  {:>11}",
        "offered/s",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU/hold",
        if pg { "postgres CPU/hold" } else { "" },
        "load gen CPU",
        "holds/batch"
    )?;
    let mut headline = None;
    let mut next = budget.closed;
    let mut notes = String::new();
    for &offered in &args.rates {
        progress(format!(
            "{}: open loop, {offered} holds/s, {open_secs} s",
            backend.name()
        ));
        let n = usize::try_from(offered * open_secs)?;
        let allot = Allot::new(next, next + n);
        next += n;
        let cpu0 = CpuSample::take(server.pid, &mut raw).await;
        let batches0 = Batches::take(&target).await;
        let r = open_loop(
            &target,
            &allot,
            offered,
            Duration::from_secs(open_secs),
            args.max_in_flight,
        )
        .await?;
        let cpu = CpuSample::take(server.pid, &mut raw).await.since(&cpu0);
        let batches = Batches::take(&target).await.since(batches0);
        ledger
            .record(&mut raw, &seeded.ids, &r.tally, r.tally.granted, 0)
            .await?;
        let l = r.tally.latencies();
        writeln!(
            out,
            "  {:>9}  {:>10.1}  {:>8}  {:>8}  {:>7}  {:>16}  {:>18}  {:>12}  {:>11}",
            offered,
            rate(r.tally.granted, r.elapsed),
            ms(l.p50),
            ms(l.p99),
            r.tally.errors(),
            per_unit(cpu.server, r.tally.granted),
            if pg {
                per_unit(cpu.postgres, r.tally.granted)
            } else {
                String::new()
            },
            secs(cpu.client),
            batches.mean(),
        )?;
        let mut detail = String::new();
        write_problems(&mut detail, &r.tally, r.exhausted)?;
        if !detail.is_empty() {
            write!(notes, "  at {offered}/s:\n{detail}")?;
        }
        if r.tally.errors() == 0
            && !l.is_empty()
            && l.p99 < Duration::from_millis(args.p99_target_ms)
        {
            headline = Some(offered);
        }
    }
    out.push_str(&notes);
    writeln!(
        out,
        "  (achieved: holds granted ÷ time from the first scheduled request to the last response{})",
        if pg {
            "; postgres CPU: the backends connected to the benchmark's database"
        } else {
            ""
        }
    )?;
    match headline {
        Some(r) => writeln!(
            out,
            "  headline: {r} holds/s is the highest offered rate with p99 < {} ms (and no errors)",
            args.p99_target_ms
        )?,
        None => writeln!(
            out,
            "  headline: no offered rate kept p99 < {} ms without errors",
            args.p99_target_ms
        )?,
    }
    let quota = raw.quota(&seeded.quota).await?;
    all_ok &= write_quota(&mut out, quota, &ledger)?;
    print!("{out}");

    // Full purchases.
    progress(format!(
        "{}: purchases, {} buyers, {} s",
        backend.name(),
        args.purchase_concurrency,
        args.seconds
    ));
    let allot = Allot::new(next, next + budget.purchase);
    let cpu0 = CpuSample::take(server.pid, &mut raw).await;
    let p = purchase_loop(
        &target,
        &state,
        &allot,
        args.purchase_concurrency,
        Duration::from_secs(args.seconds),
    )
    .await?;
    let cpu = CpuSample::take(server.pid, &mut raw).await.since(&cpu0);
    ledger
        .record(&mut raw, &seeded.ids, &p.tally, p.holds, p.tally.granted)
        .await?;
    let quota = raw.quota(&seeded.quota).await?;
    let mut out = String::new();
    writeln!(
        out,
        "\nfull purchase: hold → checkout → signed webhook → paid (order read back), {} concurrent buyers for {} s",
        args.purchase_concurrency, args.seconds
    )?;
    write_rate_table(&mut out, "purchase", &p.tally, p.elapsed, cpu.server)?;
    write_problems(&mut out, &p.tally, p.exhausted)?;
    write_cpu(&mut out, &cpu, pg, p.tally.granted)?;
    writeln!(
        out,
        "  (the gateway's part, completing the simulated session, is a database write made by the load generator)"
    )?;
    all_ok &= write_quota(&mut out, quota, &ledger)?;
    print!("{out}");

    finish(backend, server, state, raw, &log, all_ok, closed_rate).await
}

/// Stops the server and closes the connections of one run.
async fn finish(
    backend: Backend,
    mut server: Server,
    state: AppState,
    raw: Raw,
    log: &Path,
    all_ok: bool,
    closed_rate: f64,
) -> anyhow::Result<(bool, f64)> {
    progress(format!("{}: stopping the server", backend.name()));
    let status = server.stop().await;
    state.store.close().await;
    raw.close().await;
    let mut out = String::new();
    if let Some(problem) = status {
        writeln!(out, "server: {problem} (see {})", log.display())?;
    }
    writeln!(out, "load average at end: {}", loadavg())?;
    print!("{out}");
    Ok((all_ok, closed_rate))
}

/// Errors by kind, refusals, and buyers running out, if any.
/// The table of a closed-loop phase: successes of `unit` per second, latency
/// percentiles, errors and server CPU per success.
fn write_rate_table(
    out: &mut String,
    unit: &str,
    tally: &Tally,
    elapsed: Duration,
    server_cpu: Option<f64>,
) -> std::fmt::Result {
    let (per_s, cpu) = (format!("{unit}s/s"), format!("server CPU/{unit}"));
    let (w, c) = (per_s.len().max(9), cpu.len());
    writeln!(
        out,
        "  {per_s:>w$}  {:>8}  {:>8}  {:>8}  {:>8}  {:>7}  {cpu:>c$}",
        "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    )?;
    let l = tally.latencies();
    writeln!(
        out,
        "  {:>w$.1}  {:>8}  {:>8}  {:>8}  {:>8}  {:>7}  {:>c$}",
        rate(tally.granted, elapsed),
        ms(l.p50),
        ms(l.p95),
        ms(l.p99),
        ms(l.max),
        tally.errors(),
        per_unit(server_cpu, tally.granted),
    )
}

fn write_problems(out: &mut String, tally: &Tally, exhausted: bool) -> std::fmt::Result {
    if tally.errors() > 0 {
        let kinds: Vec<String> = tally
            .errors
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        writeln!(out, "  errors: {}", kinds.join(", "))?;
    }
    if tally.refused > 0 {
        writeln!(out, "  refused as sold out (409): {}", tally.refused)?;
    }
    if exhausted {
        writeln!(
            out,
            "  stopped early: this phase's buyers ran out (pass a larger --buyers)"
        )?;
    }
    Ok(())
}

/// The CPU time of every party over a phase of `units` successes.
fn write_cpu(out: &mut String, cpu: &Cpu, pg: bool, units: u64) -> std::fmt::Result {
    let mut parts = vec![format!("server {}", secs(cpu.server))];
    if pg {
        parts.push(format!(
            "postgres {} ({} per success; the backends of the benchmark's database)",
            secs(cpu.postgres),
            per_unit(cpu.postgres, units)
        ));
    }
    parts.push(format!("load generator {}", secs(cpu.client)));
    writeln!(out, "  cpu: {}", parts.join(", "))
}

/// Prints the stock check; true when it adds up.
fn write_quota(
    out: &mut String,
    (size, sold, held): (i64, i64, i64),
    ledger: &Ledger,
) -> anyhow::Result<bool> {
    let verdict = stock_verdict(
        size,
        sold,
        held,
        ledger.granted + ledger.late.held,
        ledger.paid + ledger.late.paid,
    );
    let late_held = if ledger.late.held > 0 {
        format!(
            " + {} taken by requests that failed (408 or no answer) yet committed",
            ledger.late.held
        )
    } else {
        String::new()
    };
    let late_paid = if ledger.late.paid > 0 {
        format!(" + {} whose last step failed", ledger.late.paid)
    } else {
        String::new()
    };
    writeln!(
        out,
        "  quota: sold {sold} + held {held} = {} of {size}; holds granted so far {}{late_held}, \
         purchases paid {}{late_paid}: {verdict}",
        sold + held,
        ledger.granted,
        ledger.paid,
    )?;
    Ok(verdict == "OK")
}

/// `OVERSOLD` when the quota is exceeded, `MISMATCH` when the stock does not
/// equal the holds taken (or `sold` the purchases paid), else `OK`.
fn stock_verdict(size: i64, sold: i64, held: i64, taken: u64, paid: u64) -> &'static str {
    if sold + held > size {
        "OVERSOLD"
    } else if u64::try_from(sold + held).ok() != Some(taken)
        || u64::try_from(sold).ok() != Some(paid)
    {
        "MISMATCH"
    } else {
        "OK"
    }
}

fn rate(n: u64, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        0.0
    } else {
        n as f64 / elapsed.as_secs_f64()
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "n/a".into(), |s| format!("{s:.2} s"))
}

/// CPU time per unit (hold or purchase), in microseconds.
fn per_unit(cpu: Option<f64>, units: u64) -> String {
    match cpu {
        Some(s) if units > 0 => format!("{:.0} µs", s * 1e6 / units as f64),
        _ => "n/a".into(),
    }
}

// --- seeding -----------------------------------------------------------------

struct Seeded {
    event: EventId,
    tier: TierId,
    quota: QuotaId,
    /// The buyers' account ids; buyer `i` is `bench-buyer-{i}@bench.test`.
    ids: Vec<String>,
    /// The buyers' bearer tokens.
    tokens: Vec<String>,
}

/// An approved organization, one published event with one tier on one quota
/// of `size`, and `buyers` verified accounts with access tokens.
async fn seed(state: &AppState, raw: &mut Raw, size: i64, buyers: usize) -> anyhow::Result<Seeded> {
    let store = &state.store;
    let now = state.now();
    let owner = store
        .create_user(NewUser {
            email: "bench-organizer@bench.test".into(),
            name: "Bench Organizer".into(),
            password_hash: None,
            is_admin: false,
            email_verified_at: Some(now),
            now,
        })
        .await?;
    let org = store
        .create_organization(NewOrganization {
            slug: "bench".into(),
            name: "Bench Organizer".into(),
            contact_email: "bench-organizer@bench.test".into(),
            description: String::new(),
            approved: true,
            owner: UserId::from_string(owner.id),
            now,
        })
        .await?;
    let event = store
        .create_event(NewEvent {
            org_id: org,
            slug: "flash-sale".into(),
            title: "Flash sale".into(),
            description: String::new(),
            category: Category::Music,
            venue: "Stadium".into(),
            address: String::new(),
            city: "Jakarta".into(),
            starts_at: now.plus_minutes(60 * 24 * 30),
            ends_at: now.plus_minutes(60 * 24 * 30 + 180),
            time_zone: "Asia/Jakarta".into(),
            currency: Currency::IDR,
            now,
        })
        .await?;
    let quota = store
        .create_quota(NewQuota {
            event_id: event.clone(),
            name: "Stadium".into(),
            size,
        })
        .await?;
    let tier = store
        .create_tier(NewTier {
            event_id: event.clone(),
            name: "Festival".into(),
            description: String::new(),
            price_minor: 750_000,
            max_per_order: 10,
            sale_starts_at: None,
            sale_ends_at: None,
            hidden: false,
            position: 0,
            early_bird: None,
            quota_ids: vec![quota.clone()],
        })
        .await?;
    store
        .set_event_status(&event, EventStatus::Published, now)
        .await?;

    // Buyers: the store creates accounts one transaction each, which for
    // 100,000 of them would take minutes on PostgreSQL; a few multi-row
    // INSERTs in one transaction take seconds. The values are generated
    // here (ids, numbered addresses), never user input.
    let ids: Vec<String> = (0..buyers).map(|_| crate::store::new_id()).collect();
    let now_ms = now.as_millis();
    let statements: Vec<String> = ids
        .chunks(1000)
        .enumerate()
        .map(|(chunk, ids)| {
            let mut sql = String::from(
                "INSERT INTO users (id, email, name, email_verified_at, created_at) VALUES ",
            );
            for (j, id) in ids.iter().enumerate() {
                let i = chunk * 1000 + j;
                if j > 0 {
                    sql.push(',');
                }
                let _ = write!(
                    sql,
                    "('{id}', '{}', 'Bench Buyer {i}', {now_ms}, {now_ms})",
                    buyer_email(i)
                );
            }
            sql
        })
        .collect();
    raw.execute_in_one_transaction(&statements).await?;

    // Access tokens exactly as sign-in issues them (new accounts are at
    // session epoch 0); signing in each buyer would measure argon2 instead.
    let lifetime = i64::from(state.config.settings.access_token_minutes) * 60;
    let iat = now_ms / 1000;
    let tokens = ids
        .iter()
        .map(|id| {
            tokens::sign_access(
                state,
                &tokens::AccessClaims {
                    sub: id.clone(),
                    iss: state.config.settings.public_base().to_owned(),
                    aud: tokens::AUDIENCE.to_owned(),
                    iat,
                    exp: iat + lifetime,
                    epoch: 0,
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Seeded {
        event,
        tier,
        quota,
        ids,
        tokens,
    })
}

fn buyer_email(i: usize) -> String {
    format!("bench-buyer-{i}@bench.test")
}

/// Drops and re-creates `name` on the server of `admin_url`; returns its URL.
async fn fresh_pg_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .context("while connecting to PostgreSQL (pass --pg-url, or --backends sqlite)")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(with_database(admin_url, name))
}

/// `postgres://u@h:5432/postgres?x=y` → `postgres://u@h:5432/<name>?x=y`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Stock taken by requests whose answer was a failure (see [`Tally::failed`]).
#[derive(Clone, Copy, Debug, Default)]
struct Late {
    /// Units held (or sold) by hold requests that failed.
    held: u64,
    /// Units paid by purchases that failed after their hold.
    paid: u64,
}

/// What the load generator knows was granted, and what failed requests did
/// anyway, over every phase so far.
#[derive(Clone, Copy, Debug, Default)]
struct Ledger {
    /// Holds answered 201.
    granted: u64,
    /// Purchases read back as paid.
    paid: u64,
    late: Late,
}

impl Ledger {
    async fn record(
        &mut self,
        raw: &mut Raw,
        ids: &[String],
        tally: &Tally,
        holds: u64,
        paid: u64,
    ) -> anyhow::Result<()> {
        let late = raw.late(ids, &tally.failed).await?;
        self.granted += holds;
        self.paid += paid;
        self.late.held += late.held;
        self.late.paid += late.paid;
        Ok(())
    }
}

/// A connection of the benchmark's own, for seeding in bulk and reading the
/// quota row independently of the server.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Raw {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqliteConnection::connect(url).await?)
        } else {
            Raw::Pg(sqlx::PgConnection::connect(url).await?)
        })
    }

    async fn execute_in_one_transaction(&mut self, statements: &[String]) -> anyhow::Result<()> {
        match self {
            Raw::Sqlite(c) => {
                let mut tx = c.begin().await?;
                for s in statements {
                    sqlx::query(s).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            Raw::Pg(c) => {
                let mut tx = c.begin().await?;
                for s in statements {
                    sqlx::query(s).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// `(size, sold, held)` of a quota.
    async fn quota(&mut self, id: &QuotaId) -> anyhow::Result<(i64, i64, i64)> {
        const SQL: &str = "SELECT size, sold, held FROM quotas WHERE id = $1";
        Ok(match self {
            Raw::Sqlite(c) => {
                sqlx::query_as(SQL)
                    .bind(id.as_str())
                    .fetch_one(&mut *c)
                    .await?
            }
            Raw::Pg(c) => {
                sqlx::query_as(SQL)
                    .bind(id.as_str())
                    .fetch_one(&mut *c)
                    .await?
            }
        })
    }

    /// The pids of the PostgreSQL backends connected to this database (the
    /// server's pool, the benchmark's own); `None` on SQLite.
    async fn backend_pids(&mut self) -> Option<Vec<u32>> {
        let Raw::Pg(c) = self else { return None };
        let rows: Vec<(i32,)> =
            sqlx::query_as("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                .fetch_all(&mut *c)
                .await
                .ok()?;
        Some(
            rows.into_iter()
                .filter_map(|(p,)| u32::try_from(p).ok())
                .collect(),
        )
    }

    /// What the database holds for buyers whose request failed: units of
    /// open or paid orders of buyers whose hold request failed, and units
    /// paid by buyers whose purchase failed after the hold.
    async fn late(&mut self, ids: &[String], failed: &[(usize, bool)]) -> anyhow::Result<Late> {
        let held_first: std::collections::HashMap<&str, bool> = failed
            .iter()
            .map(|&(b, held)| (ids[b].as_str(), held))
            .collect();
        let mut late = Late::default();
        for chunk in failed.chunks(500) {
            // Generated ids, never user input: safe to inline.
            let list: Vec<String> = chunk
                .iter()
                .map(|&(b, _)| format!("'{}'", ids[b]))
                .collect();
            let sql = format!(
                "SELECT o.user_id, o.status, COUNT(*) FROM orders o JOIN order_items oi ON oi.order_id = o.id
                 WHERE o.user_id IN ({}) AND o.status IN ('reserved', 'pending_payment', 'paid')
                 GROUP BY o.user_id, o.status",
                list.join(",")
            );
            let rows: Vec<(String, String, i64)> = match self {
                Raw::Sqlite(c) => sqlx::query_as(&sql).fetch_all(&mut *c).await?,
                Raw::Pg(c) => sqlx::query_as(&sql).fetch_all(&mut *c).await?,
            };
            for (user, status, units) in rows {
                let units = u64::try_from(units).unwrap_or(0);
                match held_first.get(user.as_str()) {
                    Some(false) => late.held += units,
                    Some(true) if status == "paid" => late.paid += units,
                    _ => {}
                }
            }
        }
        Ok(late)
    }

    async fn close(self) {
        let _ = match self {
            Raw::Sqlite(c) => c.close().await,
            Raw::Pg(c) => c.close().await,
        };
    }
}

// --- the server child ----------------------------------------------------------

/// A port free right now on 127.0.0.1 (the child binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

struct Server {
    child: tokio::process::Child,
    pid: u32,
}

impl Server {
    /// Starts `admit serve` with `env` and waits until `/readyz` answers.
    async fn start(env: &[(String, String)], log: &Path, base: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let out = std::fs::File::create(log)?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true);
        for var in not_inherited() {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().context("while starting `admit serve`")?;
        let pid = child.id().context("the server exited at once")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited ({status}) before it was ready; see {}",
                    log.display()
                );
            }
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await
                && r.status().is_success()
            {
                return Ok(Self { child, pid });
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready within 60 s; see {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM (graceful: drains requests and the current job), then waits.
    /// Returns what went wrong, if anything.
    async fn stop(&mut self) -> Option<String> {
        // `kill` rather than a libc dependency for one signal.
        let sent = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .is_ok_and(|s| s.success());
        if sent
            && let Ok(Ok(status)) =
                tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await
        {
            return (!status.success()).then(|| format!("exited with {status}"));
        }
        let _ = self.child.kill().await;
        Some("did not stop within 30 s of SIGTERM; killed".into())
    }
}

// --- load ----------------------------------------------------------------------

/// What every request needs.
#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    base: Arc<str>,
    /// One unit of the hot tier; the same for every hold.
    hold_body: Arc<str>,
    tokens: Arc<Vec<String>>,
}

/// The server's admission batches so far, from its `/metrics`
/// (`admit_admission_batch_size`: its sum and count).
#[derive(Clone, Copy, Debug, Default)]
struct Batches {
    holds: f64,
    batches: f64,
}

impl Batches {
    async fn take(t: &Target) -> Self {
        let Ok(r) = t.client.get(format!("{}/metrics", t.base)).send().await else {
            return Self::default();
        };
        let text = r.text().await.unwrap_or_default();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Self {
            holds: value("admit_admission_batch_size_sum "),
            batches: value("admit_admission_batch_size_count "),
        }
    }

    fn since(self, before: Self) -> Self {
        Self {
            holds: self.holds - before.holds,
            batches: self.batches - before.batches,
        }
    }

    fn mean(self) -> String {
        if self.batches > 0.0 {
            format!("{:.1}", self.holds / self.batches)
        } else {
            "–".to_owned()
        }
    }

    fn describe(self) -> String {
        format!(
            "{:.0} transactions for {:.0} holds asked, {} holds per batch on average",
            self.batches,
            self.holds,
            self.mean()
        )
    }
}

/// Hands out the buyers of one phase, each once.
struct Allot {
    next: AtomicUsize,
    end: usize,
}

impl Allot {
    fn new(start: usize, end: usize) -> Arc<Self> {
        Arc::new(Self {
            next: AtomicUsize::new(start),
            end,
        })
    }

    fn take(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.end).then_some(i)
    }
}

/// How one request (or purchase) ended.
enum Outcome {
    Granted,
    /// 409: sold out (or another conflict), a correct answer under load.
    Refused,
    /// Anything else, by kind.
    Failed(String),
}

/// Latencies and outcomes of a phase.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    granted: u64,
    refused: u64,
    errors: BTreeMap<String, u64>,
    /// The buyers whose request failed, and whether their hold had been
    /// granted (a purchase failing after its hold). A failure is not proof
    /// that nothing happened: a request the server timed out (408) may have
    /// committed its hold, so the stock check asks the database about them.
    failed: Vec<(usize, bool)>,
}

impl Tally {
    /// One request (or purchase) of buyer `b`.
    fn add(&mut self, b: usize, held: bool, latency: Duration, outcome: Outcome) {
        self.latencies.push(latency);
        match outcome {
            Outcome::Granted => self.granted += 1,
            Outcome::Refused => self.refused += 1,
            Outcome::Failed(kind) => {
                *self.errors.entry(kind).or_default() += 1;
                self.failed.push((b, held));
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.granted += other.granted;
        self.refused += other.refused;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        self.failed.extend(other.failed);
    }

    fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    fn latencies(&self) -> Percentiles {
        Percentiles::of(self.latencies.clone())
    }
}

/// Nearest-rank percentiles of a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Percentiles {
    n: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

impl Percentiles {
    fn of(mut sample: Vec<Duration>) -> Self {
        if sample.is_empty() {
            return Self::default();
        }
        sample.sort_unstable();
        Self {
            n: sample.len(),
            p50: nearest_rank(&sample, 50.0),
            p95: nearest_rank(&sample, 95.0),
            p99: nearest_rank(&sample, 99.0),
            max: sample[sample.len() - 1],
        }
    }

    fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// The smallest value with at least `p` % of the sorted sample at or below
/// it (the nearest-rank definition: no interpolation, always a real sample).
fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Classifies a failed request.
fn failure(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if let Some(s) = e.status() {
        format!("HTTP {}", s.as_u16())
    } else {
        "transport".into()
    }
}

/// One hold of one unit for buyer `b`; the response body is read (so the
/// connection is reused) but not parsed.
async fn hold(t: &Target, b: usize) -> Outcome {
    let sent = t
        .client
        .post(format!("{}/api/v1/orders", t.base))
        .bearer_auth(&t.tokens[b])
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(t.hold_body.to_string())
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Err(e) => Outcome::Failed(failure(&e)),
                Ok(_) if status == 201 => Outcome::Granted,
                Ok(_) if status == 409 => Outcome::Refused,
                Ok(_) => Outcome::Failed(format!("HTTP {status}")),
            }
        }
        Err(e) => Outcome::Failed(failure(&e)),
    }
}

struct PhaseResult {
    tally: Tally,
    /// From the phase's start until its last response.
    elapsed: Duration,
    /// The phase's buyers ran out before its time was up.
    exhausted: bool,
}

/// `concurrency` buyers, each taking holds back to back until `duration`
/// is over.
async fn closed_loop(
    t: &Target,
    allot: &Arc<Allot>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<PhaseResult> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let (t, allot) = (t.clone(), allot.clone());
        set.spawn(async move {
            let mut tally = Tally::default();
            let mut exhausted = false;
            while Instant::now() < deadline {
                let Some(b) = allot.take() else {
                    exhausted = true;
                    break;
                };
                let t0 = Instant::now();
                let outcome = hold(&t, b).await;
                tally.add(b, false, t0.elapsed(), outcome);
            }
            (tally, exhausted)
        });
    }
    let mut tally = Tally::default();
    let mut exhausted = false;
    while let Some(r) = set.join_next().await {
        let (part, ran_out) = r?;
        tally.merge(part);
        exhausted |= ran_out;
    }
    Ok(PhaseResult {
        tally,
        elapsed: start.elapsed(),
        exhausted,
    })
}

/// Holds offered at `rate` per second for `duration`, each at its scheduled
/// instant whatever the server's pace (a late scheduler catches up in a
/// burst), at most `max_in_flight` at once. Latency runs from the scheduled
/// instant, so time spent waiting for a slot, or behind a slow server,
/// counts.
async fn open_loop(
    t: &Target,
    allot: &Arc<Allot>,
    rate: u64,
    duration: Duration,
    max_in_flight: usize,
) -> anyhow::Result<PhaseResult> {
    let total = rate * duration.as_secs();
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let start = Instant::now() + Duration::from_millis(20);
    let give_up = start + duration + OPEN_LOOP_GRACE;
    let mut set = JoinSet::new();
    let mut tally = Tally::default();
    let mut exhausted = false;
    for i in 0..total {
        let at = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        tokio::time::sleep_until(at.into()).await;
        let Ok(slot) = tokio::time::timeout_at(give_up.into(), slots.clone().acquire_owned()).await
        else {
            // Far past the step's end with every slot taken: the server is
            // hopelessly behind this rate. Waiting longer would only make
            // the run longer; the rest counts as errors.
            *tally.errors.entry(UNSENT.into()).or_default() += total - i;
            break;
        };
        let slot = slot?;
        let Some(b) = allot.take() else {
            exhausted = true;
            break;
        };
        let t = t.clone();
        set.spawn(async move {
            let outcome = hold(&t, b).await;
            drop(slot);
            (b, Instant::now().saturating_duration_since(at), outcome)
        });
        // Collect finished requests as we go, so the set stays small.
        while let Some(r) = set.try_join_next() {
            let (b, latency, outcome) = r?;
            tally.add(b, false, latency, outcome);
        }
    }
    while let Some(r) = set.join_next().await {
        let (b, latency, outcome) = r?;
        tally.add(b, false, latency, outcome);
    }
    Ok(PhaseResult {
        tally,
        elapsed: start.elapsed(),
        exhausted,
    })
}

struct PurchaseResult {
    /// `granted` counts paid purchases; latency is the whole purchase.
    tally: Tally,
    /// Holds granted in this phase (paid or not), for the stock check.
    holds: u64,
    elapsed: Duration,
    exhausted: bool,
}

/// `concurrency` buyers, each buying one ticket after another until
/// `duration` is over.
async fn purchase_loop(
    t: &Target,
    state: &AppState,
    allot: &Arc<Allot>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<PurchaseResult> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let (t, state, allot) = (t.clone(), state.clone(), allot.clone());
        set.spawn(async move {
            let mut tally = Tally::default();
            let mut holds = 0;
            let mut exhausted = false;
            while Instant::now() < deadline {
                let Some(b) = allot.take() else {
                    exhausted = true;
                    break;
                };
                let t0 = Instant::now();
                let mut held = false;
                let outcome = match purchase(&t, &state, b, &mut held).await {
                    Ok(()) => Outcome::Granted,
                    Err(e) => Outcome::Failed(e),
                };
                holds += u64::from(held);
                tally.add(b, held, t0.elapsed(), outcome);
            }
            (tally, holds, exhausted)
        });
    }
    let mut tally = Tally::default();
    let mut holds = 0;
    let mut exhausted = false;
    while let Some(r) = set.join_next().await {
        let (part, h, ran_out) = r?;
        tally.merge(part);
        holds += h;
        exhausted |= ran_out;
    }
    Ok(PurchaseResult {
        tally,
        holds,
        elapsed: start.elapsed(),
        exhausted,
    })
}

/// A JSON request as buyer `b`; its body when the status is `expect`, else
/// the failure, named after `step`.
async fn call(
    t: &Target,
    b: usize,
    step: &str,
    req: reqwest::RequestBuilder,
    expect: u16,
) -> Result<serde_json::Value, String> {
    let r = req
        .bearer_auth(&t.tokens[b])
        .send()
        .await
        .map_err(|e| format!("{step}: {}", failure(&e)))?;
    let status = r.status().as_u16();
    if status != expect {
        return Err(format!("{step}: HTTP {status}"));
    }
    r.json()
        .await
        .map_err(|e| format!("{step}: {}", failure(&e)))
}

/// One purchase by buyer `b`: hold, checkout, the gateway completes the
/// session and posts its signed event to the webhook, and the order reads
/// back as paid. `held` is set once the hold is granted.
async fn purchase(t: &Target, state: &AppState, b: usize, held: &mut bool) -> Result<(), String> {
    let order = call(
        t,
        b,
        "hold",
        t.client
            .post(format!("{}/api/v1/orders", t.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(t.hold_body.to_string()),
        201,
    )
    .await?;
    *held = true;
    let id = order["id"].as_str().ok_or("hold: no order id")?.to_owned();
    let checkout = call(
        t,
        b,
        "checkout",
        t.client
            .post(format!("{}/api/v1/orders/{id}/checkout", t.base))
            .json(&serde_json::json!({
                "attendees": [{"name": format!("Bench Buyer {b}"), "email": buyer_email(b)}],
            })),
        200,
    )
    .await?;
    let session = checkout["payment_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .ok_or("checkout: no payment page")?
        .to_owned();
    // The gateway's side: the buyer pays on its page, the session completes,
    // and it posts the signed event, exactly as the simulated gateway does.
    let completed = state
        .store
        .finish_simulated_session(&session, true, state.now())
        .await
        .map_err(|e| format!("gateway: {e}"))?;
    if !completed {
        return Err("gateway: the session was no longer open".into());
    }
    let sim = state
        .store
        .simulated_session(&session)
        .await
        .map_err(|e| format!("gateway: {e}"))?
        .ok_or("gateway: no such session")?;
    let (body, signature) = payments::simulated_completed_event(state, &sim, state.now());
    let r = t
        .client
        .post(format!("{}/api/v1/payments/stripe/webhooks", t.base))
        .header("stripe-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("webhook: {}", failure(&e)))?;
    let status = r.status().as_u16();
    let _ = r.bytes().await;
    if status != 200 {
        return Err(format!("webhook: HTTP {status}"));
    }
    let paid = call(
        t,
        b,
        "read back",
        t.client.get(format!("{}/api/v1/orders/{id}", t.base)),
        200,
    )
    .await?;
    match paid["status"].as_str() {
        Some("paid") => Ok(()),
        other => Err(format!("read back: status {}", other.unwrap_or("missing"))),
    }
}

// --- the machine -----------------------------------------------------------------

/// The first three fields of /proc/loadavg.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// Clock ticks per second of /proc's CPU times.
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The name and user + system CPU seconds of a /proc/<pid>/stat line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = &stat[open + 1..close];
    // After the name: state is field 3 of proc(5), utime 14 and stime 15.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((name, ticks as f64 / clock_ticks()))
}

fn process_cpu(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(_, s)| s)
}

/// CPU seconds used so far by the server, the PostgreSQL backends of the
/// benchmark's database (by pid) and the load generator.
struct CpuSample {
    server: Option<f64>,
    postgres: Option<BTreeMap<u32, f64>>,
    client: Option<f64>,
}

impl CpuSample {
    async fn take(server: u32, raw: &mut Raw) -> Self {
        let postgres = raw.backend_pids().await.map(|pids| {
            pids.into_iter()
                .filter_map(|pid| process_cpu(&pid.to_string()).map(|s| (pid, s)))
                .collect()
        });
        Self {
            server: process_cpu(&server.to_string()),
            postgres,
            client: process_cpu("self"),
        }
    }

    /// The CPU used from `before` until this sample. A backend that
    /// connected in between counts from zero; one that went away in between
    /// is lost (the server's pool keeps its connections, so that is rare).
    fn since(&self, before: &CpuSample) -> Cpu {
        let d = |a: Option<f64>, b: Option<f64>| Some((a? - b?).max(0.0));
        let postgres = self.postgres.as_ref().map(|after| {
            after
                .iter()
                .map(|(pid, s)| {
                    let was = before
                        .postgres
                        .as_ref()
                        .and_then(|b| b.get(pid))
                        .copied()
                        .unwrap_or(0.0);
                    (s - was).max(0.0)
                })
                .sum()
        });
        Cpu {
            server: d(self.server, before.server),
            postgres,
            client: d(self.client, before.client),
        }
    }
}

/// CPU seconds used over a phase.
#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    server: Option<f64>,
    postgres: Option<f64>,
    client: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of(ms(&(1..=100).rev().collect::<Vec<_>>()));
        assert_eq!(
            (p.n, p.p50, p.p95, p.p99, p.max),
            (
                100,
                Duration::from_millis(50),
                Duration::from_millis(95),
                Duration::from_millis(99),
                Duration::from_millis(100)
            )
        );
        // One sample is every percentile; a small sample rounds the rank up.
        let one = Percentiles::of(ms(&[7]));
        assert_eq!(
            (one.p50, one.p99, one.max),
            (ms(&[7])[0], ms(&[7])[0], ms(&[7])[0])
        );
        let four = Percentiles::of(ms(&[4, 1, 3, 2]));
        assert_eq!(
            (four.p50, four.p95),
            (Duration::from_millis(2), Duration::from_millis(4))
        );
        assert!(Percentiles::of(Vec::new()).is_empty());
    }

    #[test]
    fn the_stock_check_tells_oversold_from_mismatch() {
        assert_eq!(stock_verdict(100, 10, 90, 100, 10), "OK");
        assert_eq!(stock_verdict(100, 10, 91, 101, 10), "OVERSOLD");
        assert_eq!(stock_verdict(100, 10, 80, 100, 10), "MISMATCH");
        assert_eq!(stock_verdict(100, 9, 91, 100, 10), "MISMATCH");
    }

    #[test]
    fn proc_stat_lines_parse_even_with_odd_names() {
        let line = "4242 (tokio (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        let (name, secs) = parse_stat(line).unwrap();
        assert_eq!(name, "tokio (x) y");
        assert!((secs - 300.0 / clock_ticks()).abs() < 1e-9);
    }

    #[test]
    fn the_bench_database_replaces_the_admin_database_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "admit_bench"),
            "postgres://postgres@127.0.0.1:5432/admit_bench"
        );
        assert_eq!(
            with_database("postgres://u:p@db/postgres?sslmode=disable", "b"),
            "postgres://u:p@db/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://db", "b"), "postgres://db/b");
    }
}
