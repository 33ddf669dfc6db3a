//! Typed identifiers. Ids are opaque strings (UUIDv7 text, generated on the
//! server), wrapped so that a tier id can never be passed where an event id is
//! expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from storage or a trusted source.
            pub fn from_string(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// Parses an id that came from outside (a URL, a form field).
            ///
            /// Ids are ASCII letters, digits and dashes, 1 to 64 long.
            pub fn parse(s: &str) -> Option<Self> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                ok.then(|| Self(s.to_owned()))
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// An organization (an organizer).
    OrgId
);
id_type!(
    /// An event.
    EventId
);
id_type!(
    /// A ticket tier of an event (e.g. VIP, Regular).
    TierId
);
id_type!(
    /// A quota: a pool of stock that one or more tiers draw on.
    QuotaId
);
id_type!(
    /// An order; a hold is an order in state `reserved`.
    OrderId
);
