//! What a buyer pays: ticket prices, the code's discount, and the platform
//! fee. The order page, the checkout and (later) the payment gateway's line
//! items all come from [`price`], so the fee shown is the fee charged.

use serde::{Deserialize, Serialize};

use super::{codes::CodeRules, money::Currency};

/// The platform fee: a share of each ticket's discounted price, rounded half
/// up, plus a fixed amount per ticket. A ticket that costs nothing after its
/// discount carries no fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRule {
    /// The share, in basis points (500 = 5 %).
    pub basis_points: u32,
    /// The fixed part per paid ticket, in minor units.
    pub fixed_minor: i64,
}

/// admit's share of each ticket's discounted price: 5 %.
pub const FEE_BASIS_POINTS: u32 = 500;

impl FeeRule {
    /// The fee on one ticket whose discounted price is `discounted` (minor units).
    pub fn on_ticket(self, discounted: i64) -> i64 {
        if discounted <= 0 {
            return 0;
        }
        let share = (i128::from(discounted) * i128::from(self.basis_points) + 5_000) / 10_000;
        i64::try_from(share)
            .unwrap_or(i64::MAX)
            .saturating_add(self.fixed_minor.max(0))
    }
}

/// Parses the fixed fees per currency, in major units: `IDR=2500,USD=0.30`.
/// Every listed currency gets a [`FeeRule`] with the 5 % share; a currency
/// that is not listed has no fee rule, and its events cannot be published.
pub fn parse_fixed_fees(s: &str) -> Result<Vec<(Currency, FeeRule)>, String> {
    let mut out: Vec<(Currency, FeeRule)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (code, amount) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: write CURRENCY=amount, e.g. IDR=2500"))?;
        let currency = Currency::parse(code.trim()).map_err(|e| e.to_string())?;
        let minor = major_to_minor(amount.trim(), currency).ok_or_else(|| {
            format!(
                "{part:?}: the amount must be a number of {code} with at most {} decimals",
                currency.decimals()
            )
        })?;
        if out.iter().any(|(c, _)| *c == currency) {
            return Err(format!("{code} is listed twice"));
        }
        out.push((
            currency,
            FeeRule {
                basis_points: FEE_BASIS_POINTS,
                fixed_minor: minor,
            },
        ));
    }
    Ok(out)
}

/// `"0.30"` USD → 30; `"2500"` IDR → 2500. Never negative.
fn major_to_minor(s: &str, currency: Currency) -> Option<i64> {
    let decimals = currency.decimals();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > decimals as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10i64.checked_pow(decimals)?;
    let frac_minor: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10i64.checked_pow(decimals - frac.len() as u32)?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(frac_minor)
}

/// One ticket, priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedTicket {
    /// Price at hold time.
    pub unit_minor: i64,
    /// The code's discount on it.
    pub discount_minor: i64,
    /// The platform fee on it.
    pub fee_minor: i64,
}

/// The whole bill.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Each ticket, in order.
    pub tickets: Vec<PricedTicket>,
    /// Sum of ticket prices.
    pub subtotal_minor: i64,
    /// Sum of discounts.
    pub discount_minor: i64,
    /// Sum of fees.
    pub fee_minor: i64,
    /// What the buyer pays: subtotal − discount + fee.
    pub total_minor: i64,
}

/// Prices tickets given as `(tier id, unit price)` with an optional code and
/// the event currency's fee rule.
pub fn price(tickets: &[(&str, i64)], code: Option<&CodeRules>, fee: FeeRule) -> Breakdown {
    let items: Vec<(i64, i64)> = tickets
        .iter()
        .map(|&(tier, unit)| (unit, code.map_or(0, |c| c.discount_on(tier, unit))))
        .collect();
    price_items(&items, fee)
}

/// Prices tickets whose discounts are already known, as `(unit price,
/// discount)`: a hold fixes each ticket's price and discount when it is
/// taken, so later changes to the tier or the code do not change the bill.
pub fn price_items(items: &[(i64, i64)], fee: FeeRule) -> Breakdown {
    let mut b = Breakdown::default();
    for &(unit, discount) in items {
        let discount = discount.clamp(0, unit.max(0));
        let fee_minor = fee.on_ticket(unit - discount);
        b.subtotal_minor += unit;
        b.discount_minor += discount;
        b.fee_minor += fee_minor;
        b.tickets.push(PricedTicket {
            unit_minor: unit,
            discount_minor: discount,
            fee_minor,
        });
    }
    b.total_minor = b.subtotal_minor - b.discount_minor + b.fee_minor;
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::Discount;
    use proptest::prelude::*;

    const IDR_FEE: FeeRule = FeeRule {
        basis_points: FEE_BASIS_POINTS,
        fixed_minor: 2_500,
    };

    fn percent(p: u8) -> CodeRules {
        CodeRules {
            discount: Discount::Percent(p),
            tiers: vec![],
            unlocks: vec![],
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn the_fee_is_five_percent_half_up_plus_the_fixed_part() {
        // 5 % of 150,010 is 7,500.5 → 7,501; plus Rp 2,500.
        assert_eq!(IDR_FEE.on_ticket(150_010), 10_001);
        assert_eq!(IDR_FEE.on_ticket(150_009), 10_000);
        assert_eq!(IDR_FEE.on_ticket(0), 0, "free tickets carry no fee");
        let b = price(
            &[("t", 100_000), ("t", 100_000)],
            Some(&percent(10)),
            IDR_FEE,
        );
        assert_eq!(
            (
                b.subtotal_minor,
                b.discount_minor,
                b.fee_minor,
                b.total_minor
            ),
            (200_000, 20_000, 2 * (4_500 + 2_500), 194_000)
        );
        let free = price(&[("t", 100_000)], Some(&percent(100)), IDR_FEE);
        assert_eq!(free.total_minor, 0, "a 100 % code makes the order free");
    }

    #[test]
    fn fixed_fees_are_read_in_major_units() {
        let fees = parse_fixed_fees("IDR=2500, USD=0.30,JPY=40").unwrap();
        assert_eq!(fees[0], (Currency::IDR, IDR_FEE));
        assert_eq!(fees[1].1.fixed_minor, 30);
        assert_eq!(fees[2].1.fixed_minor, 40);
        assert!(
            parse_fixed_fees("IDR=2500.5").is_err(),
            "IDR has no minor unit"
        );
        assert!(parse_fixed_fees("USD=-1").is_err());
        assert!(parse_fixed_fees("XXX=1").is_err());
        assert!(parse_fixed_fees("IDR").is_err());
        assert!(parse_fixed_fees("IDR=1,IDR=2").is_err());
        assert_eq!(parse_fixed_fees("").unwrap(), vec![]);
    }

    proptest! {
        #[test]
        fn the_bill_adds_up(prices in proptest::collection::vec(0i64..50_000_000, 0..8), pct in 0u8..=100, fixed in 0i64..100_000) {
            let fee = FeeRule { basis_points: FEE_BASIS_POINTS, fixed_minor: fixed };
            let tickets: Vec<(&str, i64)> = prices.iter().map(|p| ("t", *p)).collect();
            let b = price(&tickets, Some(&percent(pct)), fee);
            prop_assert_eq!(b.total_minor, b.subtotal_minor - b.discount_minor + b.fee_minor);
            prop_assert_eq!(b.fee_minor, b.tickets.iter().map(|t| t.fee_minor).sum::<i64>());
            for t in &b.tickets {
                let paid = t.unit_minor - t.discount_minor;
                prop_assert!(paid >= 0);
                prop_assert_eq!(t.fee_minor == 0, paid == 0, "a fee exactly on paid tickets");
                // Half up: never more than half a minor unit away from 5 %.
                if paid > 0 {
                    let exact2 = paid * 2 * i64::from(FEE_BASIS_POINTS);
                    let got2 = (t.fee_minor - fixed) * 2 * 10_000;
                    prop_assert!((got2 - exact2).abs() <= 10_000);
                }
            }
            prop_assert!(b.total_minor >= 0);
        }
    }
}
