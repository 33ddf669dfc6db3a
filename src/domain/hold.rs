//! What a buyer may hold: the rules checked before any stock is taken. Stock
//! itself is guarded by the database; these are the tier's own terms.

use super::{Timestamp, catalogue::sale_window_open, quantity::Quantity};

/// A tier's terms of sale, as a hold sees them.
#[derive(Clone, Debug)]
pub struct TierTerms<'a> {
    /// Name, for messages.
    pub name: &'a str,
    /// Per-order limit.
    pub max_per_order: u32,
    /// Sale window start.
    pub sale_starts_at: Option<Timestamp>,
    /// Sale window end.
    pub sale_ends_at: Option<Timestamp>,
    /// Shown only with a code that unlocks it.
    pub hidden: bool,
}

/// Why a pick cannot be held.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PickError {
    /// Nothing was picked.
    #[error("Pick at least one ticket.")]
    Nothing,
    /// An unknown tier, or a hidden one without its code (indistinguishable
    /// on purpose, so hidden tiers stay hidden).
    #[error("That ticket type is not part of this event.")]
    UnknownTier,
    /// Outside the tier's sale window, or the event is over.
    #[error("{0} tickets are not on sale right now.")]
    NotOnSale(String),
    /// More than one order may take.
    #[error("You can take at most {max} {tier} tickets in one order.")]
    TooMany {
        /// Tier name.
        tier: String,
        /// The limit.
        max: u32,
    },
}

/// Checks that `count` units of a tier may be held at `now`.
/// `unlocked` says whether the buyer's code reveals the tier; `event_over`
/// whether the event has ended.
pub fn check_pick(
    terms: &TierTerms<'_>,
    count: u32,
    now: Timestamp,
    unlocked: bool,
    event_over: bool,
) -> Result<(), PickError> {
    if terms.hidden && !unlocked {
        return Err(PickError::UnknownTier);
    }
    if event_over || !sale_window_open(now, terms.sale_starts_at, terms.sale_ends_at) {
        return Err(PickError::NotOnSale(terms.name.to_owned()));
    }
    let max = terms.max_per_order.min(Quantity::MAX);
    if count > max {
        return Err(PickError::TooMany {
            tier: terms.name.to_owned(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(hidden: bool) -> TierTerms<'static> {
        TierTerms {
            name: "VIP",
            max_per_order: 4,
            sale_starts_at: Some(Timestamp::from_millis(100)),
            sale_ends_at: Some(Timestamp::from_millis(200)),
            hidden,
        }
    }

    #[test]
    fn picks_respect_window_limit_and_hidden_tiers() {
        let t = Timestamp::from_millis;
        assert_eq!(check_pick(&terms(false), 4, t(150), false, false), Ok(()));
        assert_eq!(
            check_pick(&terms(false), 5, t(150), false, false),
            Err(PickError::TooMany {
                tier: "VIP".into(),
                max: 4
            })
        );
        assert_eq!(
            check_pick(&terms(false), 1, t(200), false, false),
            Err(PickError::NotOnSale("VIP".into()))
        );
        assert_eq!(
            check_pick(&terms(false), 1, t(150), false, true),
            Err(PickError::NotOnSale("VIP".into()))
        );
        assert_eq!(
            check_pick(&terms(true), 1, t(150), false, false),
            Err(PickError::UnknownTier)
        );
        assert_eq!(check_pick(&terms(true), 1, t(150), true, false), Ok(()));
        assert_eq!(
            PickError::TooMany {
                tier: "VIP".into(),
                max: 4
            }
            .to_string(),
            "You can take at most 4 VIP tickets in one order."
        );
    }
}
