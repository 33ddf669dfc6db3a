//! The `admit` binary: `serve` (default), `seed`, `migrate`, `bench`.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use admit::{clock::SystemClock, config::Config, services, startup, telemetry};

#[derive(Parser)]
#[command(
    name = "admit",
    version,
    about = "Event ticketing: sell tickets, hold seats, let people in at the door."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations and serve the app (the default).
    Serve,
    /// Run migrations, then add demo data if the database has no events.
    Seed,
    /// Run migrations only.
    Migrate,
    /// The load benchmark (`make bench`): seeds fresh databases, starts
    /// `admit serve` on each backend and drives it over HTTP on 127.0.0.1.
    Bench(Box<admit::bench::BenchArgs>),
    /// Test builds only: run the fake OpenID provider the browser tests sign
    /// in with "Google" against.
    #[cfg(feature = "test-hooks")]
    FakeOidc {
        /// Address to listen on, e.g. 127.0.0.1:3918.
        #[arg(long)]
        addr: std::net::SocketAddr,
        /// The client id admit is registered with.
        #[arg(long, default_value = "admit-e2e")]
        client_id: String,
        /// The client secret admit is registered with.
        #[arg(long, default_value = "admit-e2e-secret")]
        client_secret: String,
        /// The one redirect URI accepted.
        #[arg(long)]
        redirect_uri: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    #[cfg(feature = "test-hooks")]
    if let Some(Command::FakeOidc {
        addr,
        client_id,
        client_secret,
        redirect_uri,
    }) = &cli.command
    {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!("fake OpenID provider on http://{addr}");
        return admit::testing::fake_oidc::serve(
            listener,
            admit::testing::fake_oidc::Registration {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                redirect_uri: redirect_uri.clone(),
            },
        )
        .await;
    }
    let command = match cli.command.unwrap_or(Command::Serve) {
        // The benchmark makes its own configuration per backend.
        Command::Bench(args) => return admit::bench::run(*args).await,
        other => other,
    };
    let config = Config::load()?;
    telemetry::init_tracing(&config.settings);
    let opts = startup::store_options(&config);
    let state = startup::build_state(config, Arc::new(SystemClock::new()), opts).await?;
    match command {
        Command::Migrate => {
            tracing::info!(backend = state.store.backend(), "migrations are up to date");
        }
        Command::Seed => match services::seed::seed(&state)
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?
        {
            services::seed::SeedOutcome::Seeded { events } => {
                tracing::info!(events, "seeded demo data")
            }
            services::seed::SeedOutcome::AlreadySeeded => {
                tracing::info!("database already has events; seed skipped")
            }
        },
        #[cfg(feature = "test-hooks")]
        Command::FakeOidc { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Bench(_) => unreachable!("handled before the configuration is loaded"),
        Command::Serve => {
            let addr = state.config.settings.site_addr;
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("while binding {addr} (set ADMIT_SITE_ADDR to use another address)")
            })?;
            tracing::info!(
                %addr,
                public_url = %state.config.settings.public_url,
                backend = state.store.backend(),
                "admit is serving"
            );
            startup::serve(state, listener, startup::shutdown_signal()).await?;
        }
    }
    Ok(())
}
