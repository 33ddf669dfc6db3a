//! The pure domain core: rules about money, stock, events and orders.
//!
//! Nothing here touches I/O, clocks or the database, so it compiles for the
//! server and for the wasm islands alike. Every rule lives here exactly once;
//! services, server functions and islands call into it.

pub mod account;
pub mod catalogue;
pub mod codes;
pub mod hold;
pub mod ids;
pub mod limits;
pub mod money;
pub mod order;
pub mod pricing;
pub mod quantity;
pub mod search;
pub mod seats;
pub mod ticket_code;
pub mod time;

pub use catalogue::{Availability, Category, EventStatus, QuotaLevel};
pub use ids::{EventId, OrderId, OrgId, QuotaId, TierId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use order::{OrderStatus, TransitionError};
pub use quantity::{Quantity, QuantityError};
pub use time::Timestamp;
