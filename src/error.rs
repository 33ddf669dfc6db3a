//! One error type per boundary. Services return [`ServiceError`]; entry points
//! map it to a status and a clear message, logging internals with context and
//! showing only an opaque message for them.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::store::StoreError;

/// What a use-case can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The object does not exist or is not the caller's to see (the two look
    /// the same from outside).
    #[error("not found")]
    NotFound,
    /// Signing in is required.
    #[error("please sign in first")]
    Unauthenticated,
    /// Signed in, but a step is missing (e.g. the email is not verified yet).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again later.
    #[error("{0}")]
    TooMany(String),
    /// An abuse limit was reached; answered 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        /// What happened and when to try again.
        message: String,
        /// Seconds until the window ends.
        retry_after_secs: u64,
    },
    /// The input was understood but breaks a rule; the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A conflict with the current state (sold out, duplicate, already used).
    #[error("{0}")]
    Conflict(String),
    /// A service admit depends on (the payment gateway) is not answering;
    /// the message says what to do.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an outage; logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict(c) => ServiceError::Conflict(c.to_string()),
            e @ StoreError::SoldOut { .. } => ServiceError::Conflict(e.to_string()),
            e @ StoreError::SeatTaken { .. } => ServiceError::Conflict(e.to_string()),
            StoreError::Refused(msg) => ServiceError::Invalid(msg),
            StoreError::Busy(msg) => ServiceError::Unavailable(msg),
            StoreError::Internal(e) => ServiceError::Internal(e),
        }
    }
}

impl ServiceError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::NotFound => StatusCode::NOT_FOUND,
            ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::TooMany(_) | ServiceError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a user may see. Internal errors are logged here, once,
    /// with their whole chain, and replaced by an opaque message.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "Something went wrong on our side. Please try again in a moment.".to_owned()
            }
            other => other.to_string(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ServiceError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let mut res = (
            self.status(),
            Json(ErrorBody {
                error: self.public_message(),
            }),
        )
            .into_response();
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
