//! Codes attached to an event: a discount, access to hidden tiers, or both.
//! The same rules price the checkout on the server and the preview in the
//! browser.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// What a code takes off each ticket it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discount {
    /// Only unlocks tiers.
    None,
    /// A percentage of each ticket's price, 1–100.
    Percent(u8),
    /// A fixed amount per ticket, in minor units (never below zero).
    Fixed(i64),
}

/// A code's rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRules {
    /// The discount.
    pub discount: Discount,
    /// Tiers the discount applies to; empty means every tier.
    pub tiers: Vec<String>,
    /// Hidden tiers this code reveals.
    pub unlocks: Vec<String>,
    /// Valid from (inclusive).
    pub valid_from: Option<Timestamp>,
    /// Valid until (exclusive).
    pub valid_until: Option<Timestamp>,
}

impl CodeRules {
    /// The discount on one ticket of `tier` at `unit_price`: never negative,
    /// never above the price. Percentages round half up.
    pub fn discount_on(&self, tier: &str, unit_price: i64) -> i64 {
        if unit_price <= 0 || !(self.tiers.is_empty() || self.tiers.iter().any(|t| t == tier)) {
            return 0;
        }
        let d = match self.discount {
            Discount::None => 0,
            Discount::Percent(p) => (unit_price * i64::from(p.min(100)) + 50) / 100,
            Discount::Fixed(a) => a.max(0),
        };
        d.clamp(0, unit_price)
    }

    /// Whether the code reveals a hidden tier.
    pub fn unlocks(&self, tier: &str) -> bool {
        self.unlocks.iter().any(|t| t == tier)
    }

    /// Whether the code can be used at `now`.
    pub fn valid_at(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| now >= f) && self.valid_until.is_none_or(|u| now < u)
    }
}

/// Normalizes a typed code: trimmed, upper-case; letters, digits, `-` and
/// `_`, 3 to 32 characters.
pub fn normalize_code(raw: &str) -> Option<String> {
    let c = raw.trim().to_ascii_uppercase();
    let ok = (3..=32).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules(discount: Discount) -> CodeRules {
        CodeRules {
            discount,
            tiers: vec![],
            unlocks: vec![],
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn percentages_round_half_up_and_scope_limits_tiers() {
        assert_eq!(rules(Discount::Percent(10)).discount_on("t", 155), 16);
        assert_eq!(rules(Discount::Percent(100)).discount_on("t", 1999), 1999);
        assert_eq!(rules(Discount::Fixed(5000)).discount_on("t", 3000), 3000);
        let scoped = CodeRules {
            tiers: vec!["vip".into()],
            ..rules(Discount::Percent(50))
        };
        assert_eq!(scoped.discount_on("regular", 1000), 0);
        assert_eq!(scoped.discount_on("vip", 1000), 500);
        assert_eq!(normalize_code(" early-bird "), Some("EARLY-BIRD".into()));
        assert_eq!(normalize_code("no spaces!"), None);
    }

    proptest! {
        #[test]
        fn a_discount_is_between_zero_and_the_price(price in -10i64..10_000_000, pct in 0u8..=255, fixed in -1000i64..20_000_000) {
            for d in [Discount::None, Discount::Percent(pct), Discount::Fixed(fixed)] {
                let off = rules(d).discount_on("t", price);
                prop_assert!(off >= 0);
                prop_assert!(off <= price.max(0));
            }
        }

        #[test]
        fn discounted_totals_add_up_exactly(prices in proptest::collection::vec(0i64..5_000_000, 0..8), pct in 0u8..=100) {
            let r = rules(Discount::Percent(pct));
            let discounts: Vec<i64> = prices.iter().map(|p| r.discount_on("t", *p)).collect();
            let paid: i64 = prices.iter().zip(&discounts).map(|(p, d)| p - d).sum();
            prop_assert_eq!(paid + discounts.iter().sum::<i64>(), prices.iter().sum::<i64>());
        }
    }
}
