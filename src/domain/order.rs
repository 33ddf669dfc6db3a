//! The order state machine. A hold is an order in state `reserved`.

use serde::{Deserialize, Serialize};

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    /// A hold: stock is reserved until `expires_at`.
    Reserved,
    /// The buyer is at the payment provider.
    PendingPayment,
    /// Paid; stock is sold.
    Paid,
    /// The hold ran out before payment.
    Expired,
    /// Released by the buyer, or refused after the fact.
    Cancelled,
}

/// A transition the state machine does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from:?} to {to:?}")]
pub struct TransitionError {
    /// The current state.
    pub from: OrderStatus,
    /// The state asked for.
    pub to: OrderStatus,
}

impl OrderStatus {
    /// The value stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Reserved => "reserved",
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Expired => "expired",
            OrderStatus::Cancelled => "cancelled",
        }
    }
    /// Reads a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reserved" => Some(OrderStatus::Reserved),
            "pending_payment" => Some(OrderStatus::PendingPayment),
            "paid" => Some(OrderStatus::Paid),
            "expired" => Some(OrderStatus::Expired),
            "cancelled" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }
    /// Whether this order still holds stock.
    pub const fn holds_stock(self) -> bool {
        matches!(self, OrderStatus::Reserved | OrderStatus::PendingPayment)
    }
    /// Validates a transition: `reserved → pending_payment → paid | expired |
    /// cancelled`; a reserved hold may also be paid directly (free orders),
    /// expire or be cancelled. Final states never move.
    pub fn transition(self, to: OrderStatus) -> Result<OrderStatus, TransitionError> {
        use OrderStatus::*;
        let ok = matches!(
            (self, to),
            (Reserved, PendingPayment | Paid | Expired | Cancelled)
                | (PendingPayment, Paid | Expired | Cancelled)
        );
        if ok {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn final_states_never_move() {
        for from in [Paid, Expired, Cancelled] {
            for to in [Reserved, PendingPayment, Paid, Expired, Cancelled] {
                assert!(from.transition(to).is_err(), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn the_happy_path_is_allowed() {
        assert_eq!(Reserved.transition(PendingPayment), Ok(PendingPayment));
        assert_eq!(PendingPayment.transition(Paid), Ok(Paid));
        assert!(PendingPayment.transition(Reserved).is_err());
    }

    #[test]
    fn stored_names_round_trip() {
        for s in [Reserved, PendingPayment, Paid, Expired, Cancelled] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }
}
