//! Building and running the application: state, router, worker, shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use leptos::config::LeptosOptions;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    clock::SystemClock,
    config::Config,
    state::AppState,
    store::{self, StoreOptions},
};

/// Opens the store (running migrations) and assembles the state.
pub async fn build_state(
    config: Config,
    clock: Arc<SystemClock>,
    store_opts: StoreOptions,
) -> anyhow::Result<AppState> {
    let store = store::open(&config.settings.database_url, store_opts).await?;
    let leptos = LeptosOptions::builder()
        .output_name("admit")
        .site_root(config.settings.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.settings.site_addr)
        .build();
    let mailer = mailer(&config)?;
    let files = Arc::new(crate::integrations::files::LocalFiles::new(
        config.settings.data_dir.join("files"),
    ));
    let listings = Arc::new(crate::services::listings::ListingCache::new(
        config.settings.listing_cache_ttl_secs,
    ));
    let payments = payments(&config, store.clone(), clock.clone())?;
    let admission = crate::services::admission::Admission::new(
        store.clone(),
        crate::services::admission::AdmissionSettings::from_settings(&config.settings),
    );
    Ok(AppState {
        admission,
        hold_terms: Arc::default(),
        payments,
        config: Arc::new(config),
        store,
        clock,
        leptos,
        mailer,
        listings,
        files,
    })
}

/// SMTP when `ADMIT_SMTP_URL` is set (required in production), otherwise
/// `.eml` files under `data/mail/`.
pub fn mailer(config: &Config) -> anyhow::Result<Arc<dyn crate::integrations::mail::Mailer>> {
    use crate::integrations::mail::{FileMailer, SmtpMailer};
    let from = &config.settings.mail_from;
    Ok(match &config.smtp_url {
        Some(url) => Arc::new(SmtpMailer::new(from, url.expose())?),
        None => Arc::new(FileMailer::new(
            from,
            config.settings.data_dir.join("mail"),
        )?),
    })
}

/// Stripe Checkout when `ADMIT_STRIPE_SECRET_KEY` is set (required in
/// production), otherwise the simulated gateway, whose sessions live in the
/// database and whose events go through the same webhook handler.
pub fn payments(
    config: &Config,
    store: Arc<dyn crate::store::Store>,
    clock: Arc<SystemClock>,
) -> anyhow::Result<Arc<dyn crate::integrations::payments::PaymentGateway>> {
    use crate::integrations::{payments::SimulatedGateway, stripe::StripeGateway};
    Ok(match &config.stripe_secret_key {
        None => Arc::new(SimulatedGateway::new(
            config.settings.public_base(),
            store,
            clock,
        )),
        Some(key) => Arc::new(StripeGateway::new(
            key.expose(),
            &config.settings.stripe_api_base,
            Duration::from_millis(u64::from(config.settings.stripe_timeout_ms.max(100))),
        )?),
    })
}

/// Default store options for a configuration.
pub fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        max_connections: config.settings.db_max_connections,
        admission_connections: config.settings.db_admission_connections,
        #[cfg(feature = "test-hooks")]
        stall_admission_batch: std::env::var_os("ADMIT_TEST_STALL_ADMISSION_BATCH")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from),
        ..StoreOptions::default()
    }
}

/// Serves `state` on `listener` until `shutdown` resolves, running the outbox
/// worker alongside when enabled. On shutdown it stops accepting, lets
/// in-flight requests and the current job finish, and gives up after the
/// configured grace period.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = crate::http::router(state.clone())?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = state
        .config
        .settings
        .worker_enabled
        .then(|| tokio::spawn(crate::jobs::worker(state.clone(), stop_rx.clone())));
    let grace = Duration::from_secs(u64::from(state.config.settings.shutdown_grace_secs));

    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested: draining requests and the current job");
        let _ = stop_tx.send(true);
    });

    let mut server_stop = stop_rx.clone();
    let server: std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> =
        match state.config.settings.tls {
            crate::config::TlsMode::Off => Box::pin(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = server_stop.wait_for(|stop| *stop).await;
                })
                .await
                .context("while serving HTTP")
            }),
            crate::config::TlsMode::SelfSigned => {
                let settings = &state.config.settings;
                let (cert, key) = crate::http::tls::self_signed(
                    &settings.data_dir,
                    &settings.public_url,
                    listener.local_addr()?,
                )?;
                let tls = crate::http::tls::config(cert, key).await?;
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    let _ = server_stop.wait_for(|stop| *stop).await;
                    stopper.graceful_shutdown(Some(grace));
                });
                let listener = listener.into_std()?;
                tracing::info!("serving HTTPS with a self-signed certificate");
                Box::pin(async move {
                    axum_server::from_tcp_rustls(listener, tls)
                        .handle(handle)
                        .serve(router.into_make_service_with_connect_info::<SocketAddr>())
                        .await
                        .context("while serving HTTPS")
                })
            }
        };
    let drained = async {
        server.await?;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        anyhow::Ok(())
    };
    let mut deadline_rx = stop_rx.clone();
    let deadline = async move {
        let _ = deadline_rx.wait_for(|stop| *stop).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = drained => r?,
        _ = deadline => tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over; stopping anyway"),
    }
    state.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
