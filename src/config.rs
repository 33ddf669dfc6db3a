//! Runtime configuration: `Leptos.toml` holds the defaults, `ADMIT_*`
//! environment variables override any key, and secrets come only from the
//! environment (or, in development, from files generated under
//! `data/secrets/`).

use std::{collections::BTreeMap, fmt, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Deserializer};

/// Where admit runs; production refuses every development convenience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Local work: generated secrets, simulated payments, mail to files, demo data.
    Development,
    /// Real deployments: every secret and every real provider required.
    Production,
}

/// How admit serves: plain HTTP or HTTPS with a self-signed certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plain HTTP.
    Off,
    /// HTTPS with a certificate made once into `data/tls/`.
    SelfSigned,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Every key of `Leptos.toml`. Unknown keys are refused so typos surface.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `ADMIT_ENV`.
    pub env: Environment,
    /// `ADMIT_SITE_ADDR`: the bind address; wins over LeptosOptions.
    pub site_addr: SocketAddr,
    /// `ADMIT_PUBLIC_URL`: the public base URL for links, redirects and trusted origins.
    pub public_url: String,
    /// `ADMIT_DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `ADMIT_DB_MAX_CONNECTIONS`.
    #[serde(deserialize_with = "de_u32")]
    pub db_max_connections: u32,
    /// `ADMIT_DATA_DIR`: files (secrets, mail, uploads) live here.
    pub data_dir: PathBuf,
    /// `ADMIT_SITE_ROOT`: where cargo-leptos put the built site (wasm, css, assets).
    pub site_root: PathBuf,
    /// `ADMIT_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `ADMIT_LOG`: a tracing filter such as `info,admit=debug`.
    pub log: String,
    /// `ADMIT_HOLD_MINUTES`: how long a hold lasts before payment starts.
    #[serde(deserialize_with = "de_u32")]
    pub hold_minutes: u32,
    /// `ADMIT_PAGE_SIZE`: events per listing page.
    #[serde(deserialize_with = "de_u32")]
    pub page_size: u32,
    /// `ADMIT_MAIL_FROM`: the sender of every email.
    pub mail_from: String,
    /// `ADMIT_WORKER_POLL_MS`: how often an idle job worker looks for work.
    #[serde(deserialize_with = "de_u32")]
    pub worker_poll_ms: u32,
    /// `ADMIT_WORKER_ENABLED`: run the outbox worker in this process.
    #[serde(deserialize_with = "de_bool")]
    pub worker_enabled: bool,
    /// `ADMIT_CLEANUP_INTERVAL_SECS`: period of the cleanup job.
    #[serde(deserialize_with = "de_u32")]
    pub cleanup_interval_secs: u32,
    /// `ADMIT_SHUTDOWN_GRACE_SECS`: how long SIGTERM waits for requests and the worker.
    #[serde(deserialize_with = "de_u32")]
    pub shutdown_grace_secs: u32,
    /// `ADMIT_LISTING_CACHE_TTL_SECS`: how long listing pages are cached in process (0: off).
    #[serde(deserialize_with = "de_u32")]
    pub listing_cache_ttl_secs: u32,
    /// `ADMIT_PLATFORM_FEES`: the fixed platform fee per ticket, in major
    /// units per currency (`IDR=2500,USD=0.30`); 5 % of the discounted price
    /// is added. Events in a currency not listed cannot be published.
    pub platform_fees: String,
    /// `ADMIT_STRIPE_API_BASE`: Stripe's API base URL (a local fake in tests).
    pub stripe_api_base: String,
    /// `ADMIT_STRIPE_TIMEOUT_MS`: how long one call to Stripe may take before
    /// it is sent again (with the same idempotency key).
    #[serde(deserialize_with = "de_u32")]
    pub stripe_timeout_ms: u32,
    /// `ADMIT_RECONCILE_INTERVAL_SECS`: how often completed payment sessions
    /// are listed from the gateway and applied if their webhook never came.
    #[serde(deserialize_with = "de_u32")]
    pub reconcile_interval_secs: u32,
    /// `ADMIT_JOB_LEASE_SECS`: how long a claimed job may run before another
    /// worker takes it again (a worker that died mid-job).
    #[serde(deserialize_with = "de_u32")]
    pub job_lease_secs: u32,
    /// `ADMIT_TLS`: `off` (plain HTTP, behind a TLS-terminating proxy in
    /// production) or `self-signed` (HTTPS with a certificate made into
    /// `data/tls/`, so phones on a LAN may use the camera scanner).
    pub tls: TlsMode,
    /// `ADMIT_GOOGLE_ISSUER_URL`: the OpenID provider behind "Sign in with
    /// Google" (its discovery document is read from here).
    pub google_issuer_url: String,
    /// `ADMIT_ACCESS_TOKEN_MINUTES`: lifetime of API access tokens.
    #[serde(deserialize_with = "de_u32")]
    pub access_token_minutes: u32,
    /// `ADMIT_TRUSTED_PROXIES`: reverse proxies (IPs or CIDRs, comma-separated)
    /// whose `X-Forwarded-For` is believed; empty: the socket address is the client.
    pub trusted_proxies: String,
    /// `ADMIT_RATE_LIMIT_WINDOW_SECS`: the window of the abuse limits.
    #[serde(deserialize_with = "de_u32")]
    pub rate_limit_window_secs: u32,
    /// `ADMIT_RATE_LIMITS`: attempts per window, `action=per_account/per_ip`.
    pub rate_limits: String,
    /// `ADMIT_GROUP_ADMISSION`: take holds many per transaction (see
    /// `services::admission`); off: one transaction per hold.
    #[serde(deserialize_with = "de_bool")]
    pub group_admission: bool,
    /// `ADMIT_ADMISSION_MAX_WAIT_MS`: how long the first hold of a batch
    /// waits for others to join it.
    #[serde(deserialize_with = "de_u32")]
    pub admission_max_wait_ms: u32,
    /// `ADMIT_ADMISSION_MAX_BATCH`: most holds in one transaction.
    #[serde(deserialize_with = "de_u32")]
    pub admission_max_batch: u32,
    /// `ADMIT_ADMISSION_QUEUE_LIMIT`: most holds waiting per event and
    /// instance; past it a buyer is told to try again in a moment.
    #[serde(deserialize_with = "de_u32")]
    pub admission_queue_limit: u32,
    /// `ADMIT_DB_ADMISSION_CONNECTIONS`: connections per process kept apart
    /// for group admission's batches, beside `db_max_connections`.
    #[serde(deserialize_with = "de_u32")]
    pub db_admission_connections: u32,
}

/// The keys above, in file order; each is overridable as `ADMIT_<KEY>`.
pub const KEYS: &[&str] = &[
    "env",
    "site_addr",
    "public_url",
    "database_url",
    "db_max_connections",
    "data_dir",
    "site_root",
    "log_format",
    "log",
    "hold_minutes",
    "page_size",
    "mail_from",
    "worker_poll_ms",
    "worker_enabled",
    "cleanup_interval_secs",
    "shutdown_grace_secs",
    "listing_cache_ttl_secs",
    "platform_fees",
    "stripe_api_base",
    "stripe_timeout_ms",
    "reconcile_interval_secs",
    "job_lease_secs",
    "tls",
    "google_issuer_url",
    "access_token_minutes",
    "trusted_proxies",
    "rate_limit_window_secs",
    "rate_limits",
    "group_admission",
    "admission_max_wait_ms",
    "admission_max_batch",
    "admission_queue_limit",
    "db_admission_connections",
];

/// Secrets, read only from the environment (never from `Leptos.toml`).
/// The `(env var, file name)` pairs; in development a missing one is generated
/// into `data/secrets/<file>` once, with 0600 permissions.
pub const SECRETS: &[(&str, &str)] = &[
    ("ADMIT_SESSION_SECRET", "session_secret"),
    ("ADMIT_TOKEN_SIGNING_KEY", "token_signing_key"),
    ("ADMIT_MASTER_KEY", "master_key"),
];

/// Production providers: without them admit would fall back to a development
/// convenience, which production refuses.
pub const PROVIDERS: &[&str] = &[
    "ADMIT_SMTP_URL",
    "ADMIT_STRIPE_SECRET_KEY",
    "ADMIT_STRIPE_WEBHOOK_SECRET",
    "ADMIT_GOOGLE_CLIENT_ID",
    "ADMIT_GOOGLE_CLIENT_SECRET",
];

/// Where `Leptos.toml` is read from (`ADMIT_CONFIG`, default `./Leptos.toml`).
pub const CONFIG_PATH_VAR: &str = "ADMIT_CONFIG";

/// A secret value; its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every secret admit needs.
#[derive(Clone, Debug)]
pub struct Secrets {
    /// Signs session cookies.
    pub session_secret: Secret,
    /// Signs API access tokens.
    pub token_signing_key: Secret,
    /// Encrypts per-event ticket signing keys.
    pub master_key: Secret,
}

/// The loaded configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// File + env settings.
    pub settings: Settings,
    /// Secrets.
    pub secrets: Secrets,
    /// `ADMIT_SMTP_URL`, if mail goes over SMTP.
    pub smtp_url: Option<Secret>,
    /// `ADMIT_STRIPE_SECRET_KEY`, if payments go to Stripe.
    pub stripe_secret_key: Option<Secret>,
    /// `ADMIT_STRIPE_WEBHOOK_SECRET`.
    pub stripe_webhook_secret: Option<Secret>,
    /// `ADMIT_GOOGLE_CLIENT_ID` and `ADMIT_GOOGLE_CLIENT_SECRET`: both set
    /// turns on "Sign in with Google".
    pub google: Option<GoogleClient>,
}

/// The OAuth client admit is registered as at Google.
#[derive(Clone, Debug)]
pub struct GoogleClient {
    /// Client id (public).
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
}

impl Settings {
    /// Parses settings from TOML text, then applies `ADMIT_*` overrides read
    /// through `env` (a function so tests need not touch the process env).
    pub fn parse(toml_text: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut table: toml::Table =
            toml::from_str(toml_text).context("while parsing Leptos.toml")?;
        for key in KEYS {
            if let Some(v) = env(&env_var_for(key)) {
                table.insert((*key).to_owned(), toml::Value::String(v));
            }
        }
        let settings: Settings = table
            .try_into()
            .context("while reading settings (Leptos.toml + ADMIT_* env)")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            bail!(
                "public_url (ADMIT_PUBLIC_URL) must start with http:// or https://, got {:?}",
                self.public_url
            );
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            bail!("database_url (ADMIT_DATABASE_URL) must be sqlite://… or postgres://…");
        }
        if self.hold_minutes == 0 || self.page_size == 0 {
            bail!("hold_minutes and page_size must be at least 1");
        }
        crate::domain::pricing::parse_fixed_fees(&self.platform_fees)
            .map_err(|e| anyhow::anyhow!("platform_fees (ADMIT_PLATFORM_FEES): {e}"))?;
        if !(self.stripe_api_base.starts_with("https://")
            || self.stripe_api_base.starts_with("http://"))
        {
            bail!("stripe_api_base (ADMIT_STRIPE_API_BASE) must be an http(s) URL");
        }
        if self.reconcile_interval_secs == 0 || self.job_lease_secs == 0 {
            bail!("reconcile_interval_secs and job_lease_secs must be at least 1");
        }
        if !(self.google_issuer_url.starts_with("https://")
            || self.google_issuer_url.starts_with("http://"))
        {
            bail!("google_issuer_url (ADMIT_GOOGLE_ISSUER_URL) must be an http(s) URL");
        }
        if self.admission_max_batch == 0
            || self.admission_queue_limit == 0
            || self.db_admission_connections == 0
        {
            bail!(
                "admission_max_batch, admission_queue_limit and db_admission_connections must be at least 1"
            );
        }
        if self.admission_max_wait_ms > 1000 {
            bail!(
                "admission_max_wait_ms (ADMIT_ADMISSION_MAX_WAIT_MS) is the wait of a batch's first hold; more than 1000 ms would keep buyers waiting"
            );
        }
        if self.access_token_minutes == 0 || self.rate_limit_window_secs == 0 {
            bail!("access_token_minutes and rate_limit_window_secs must be at least 1");
        }
        crate::domain::limits::parse_proxies(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("trusted_proxies (ADMIT_TRUSTED_PROXIES): {e}"))?;
        crate::domain::limits::Limits::parse(&self.rate_limits)
            .map_err(|e| anyhow::anyhow!("rate_limits (ADMIT_RATE_LIMITS): {e}"))?;
        Ok(())
    }

    /// The platform fee rule of a currency, if it has one.
    pub fn fee_rule(
        &self,
        currency: crate::domain::Currency,
    ) -> Option<crate::domain::pricing::FeeRule> {
        crate::domain::pricing::parse_fixed_fees(&self.platform_fees)
            .ok()?
            .into_iter()
            .find(|(c, _)| *c == currency)
            .map(|(_, rule)| rule)
    }

    /// The public URL without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Whether cookies must be `Secure` (`__Host-` prefixed).
    pub fn is_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `site_addr` → `ADMIT_SITE_ADDR`.
pub fn env_var_for(key: &str) -> String {
    format!("ADMIT_{}", key.to_ascii_uppercase())
}

impl Config {
    /// Loads `Leptos.toml` and the environment. In development, missing
    /// secrets are generated; in production, anything missing is an error
    /// that names every missing variable.
    pub fn load() -> anyhow::Result<Self> {
        let path = std::env::var(CONFIG_PATH_VAR).unwrap_or_else(|_| "Leptos.toml".into());
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("while reading {path}"))?;
        let settings = Settings::parse(&text, |k| std::env::var(k).ok())?;
        Self::from_settings(settings, |k| {
            std::env::var(k).ok().filter(|v| !v.is_empty())
        })
    }

    /// Completes settings with secrets and providers from `env`.
    pub fn from_settings(
        settings: Settings,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut found: BTreeMap<&str, Secret> = BTreeMap::new();
        let mut missing = Vec::new();
        for (var, file) in SECRETS {
            match env(var) {
                Some(v) => {
                    found.insert(var, Secret::new(v));
                }
                None if settings.env == Environment::Development => {
                    found.insert(var, dev_secret(&settings.data_dir, file)?);
                }
                None => missing.push(*var),
            }
        }
        let provider = |var: &str| env(var).map(Secret::new);
        let (smtp_url, stripe_secret_key, stripe_webhook_secret) = (
            provider("ADMIT_SMTP_URL"),
            provider("ADMIT_STRIPE_SECRET_KEY"),
            provider("ADMIT_STRIPE_WEBHOOK_SECRET"),
        );
        if stripe_secret_key.is_some() && stripe_webhook_secret.is_none() {
            bail!(
                "ADMIT_STRIPE_SECRET_KEY is set but ADMIT_STRIPE_WEBHOOK_SECRET is not: \
                 set the webhook endpoint's signing secret (whsec_…) too, or Stripe's events would be refused"
            );
        }
        let google = match (
            env("ADMIT_GOOGLE_CLIENT_ID"),
            provider("ADMIT_GOOGLE_CLIENT_SECRET"),
        ) {
            (Some(client_id), Some(client_secret)) => Some(GoogleClient {
                client_id,
                client_secret,
            }),
            _ => None,
        };
        if settings.env == Environment::Production {
            for var in PROVIDERS {
                if env(var).is_none() {
                    missing.push(var);
                }
            }
            if !missing.is_empty() {
                bail!(
                    "ADMIT_ENV=production refuses to start: set {}. (Production never uses generated secrets, \
                     the simulated payment gateway, mail written to files or a site without Google sign-in.)",
                    missing.join(", ")
                );
            }
            if cfg!(feature = "test-hooks") {
                bail!("ADMIT_ENV=production refuses a binary built with the test-hooks feature");
            }
        }
        let mut take = |var: &str| {
            found
                .remove(var)
                .expect("every secret is found or reported missing")
        };
        let secrets = Secrets {
            session_secret: take("ADMIT_SESSION_SECRET"),
            token_signing_key: take("ADMIT_TOKEN_SIGNING_KEY"),
            master_key: take("ADMIT_MASTER_KEY"),
        };
        Ok(Self {
            settings,
            secrets,
            smtp_url,
            stripe_secret_key,
            stripe_webhook_secret,
            google,
        })
    }
}

/// Reads `data/secrets/<name>`, generating 64 random bytes (base64) with 0600
/// permissions the first time.
fn dev_secret(data_dir: &std::path::Path, name: &str) -> anyhow::Result<Secret> {
    use base64::Engine;
    use std::io::Write;
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(existing.trim()));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    let mut bytes = [0u8; 64];
    rand::fill(&mut bytes);
    let value = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            f.write_all(value.as_bytes())?;
            tracing::info!(file = %path.display(), "generated a development secret");
            Ok(Secret::new(value))
        }
        // Another process generated it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(Secret::new(std::fs::read_to_string(&path)?.trim()))
        }
        Err(e) => Err(e).with_context(|| format!("while writing {}", path.display())),
    }
}

fn de_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Int(i64),
        Str(String),
    }
    let n = match N::deserialize(d)? {
        N::Int(i) => i,
        N::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a whole number, got {s:?}")))?,
    };
    u32::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is out of range")))
}

fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    match B::deserialize(d)? {
        B::Bool(b) => Ok(b),
        B::Str(s) => match s.trim() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "expected true or false, got {other:?}"
            ))),
        },
    }
}
