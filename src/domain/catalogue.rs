//! Events, tiers and quotas: what can be sold, and how much is left.

use serde::{Deserialize, Serialize};

use super::money::{Money, MoneyError};
use super::quantity::Quantity;
use super::time::Timestamp;

/// Where an event is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventStatus {
    /// Being prepared; only its organization sees it.
    Draft,
    /// Listed and on sale.
    Published,
    /// Called off.
    Cancelled,
}

impl EventStatus {
    /// The value stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventStatus::Draft => "draft",
            EventStatus::Published => "published",
            EventStatus::Cancelled => "cancelled",
        }
    }
    /// Reads a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(EventStatus::Draft),
            "published" => Some(EventStatus::Published),
            "cancelled" => Some(EventStatus::Cancelled),
            _ => None,
        }
    }
}

/// The fixed list of event categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Category {
    /// Concerts and gigs.
    Music,
    /// Conferences and meetups.
    Conference,
    /// Hands-on sessions.
    Workshop,
    /// Matches and races.
    Sports,
    /// Theatre, dance, comedy.
    Arts,
    /// Food and drink.
    Food,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 7] = [
        Category::Music,
        Category::Conference,
        Category::Workshop,
        Category::Sports,
        Category::Arts,
        Category::Food,
        Category::Other,
    ];
    /// The value stored in the database and used in URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Music => "music",
            Category::Conference => "conference",
            Category::Workshop => "workshop",
            Category::Sports => "sports",
            Category::Arts => "arts",
            Category::Food => "food",
            Category::Other => "other",
        }
    }
    /// Reads a stored or submitted value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The level of one quota at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLevel {
    /// Total stock.
    pub size: i64,
    /// Paid for.
    pub sold: i64,
    /// Reserved by open holds.
    pub held: i64,
}

impl QuotaLevel {
    /// What is left: never negative, even on inconsistent input.
    pub fn remaining(self) -> i64 {
        (self.size - self.sold - self.held).max(0)
    }
}

/// How many tickets of a tier can still be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability(pub i64);

impl Availability {
    /// A tier's availability is the minimum over the quotas it draws on (as in
    /// pretix). A tier that draws on no quota cannot be sold.
    pub fn of_tier(quotas: &[QuotaLevel]) -> Self {
        Self(quotas.iter().map(|q| q.remaining()).min().unwrap_or(0))
    }
    /// Nothing left.
    pub fn is_sold_out(self) -> bool {
        self.0 <= 0
    }
    /// The most a buyer may pick in one order: bounded by stock, the tier's
    /// own per-order limit and the global [`Quantity::MAX`].
    pub fn max_pickable(self, max_per_order: u32) -> u32 {
        let stock = u32::try_from(self.0.max(0)).unwrap_or(u32::MAX);
        stock.min(max_per_order).min(Quantity::MAX)
    }
}

/// Whether a tier's sale window is open at `now`. Either bound may be absent.
pub fn sale_window_open(
    now: Timestamp,
    starts: Option<Timestamp>,
    ends: Option<Timestamp>,
) -> bool {
    starts.is_none_or(|s| now >= s) && ends.is_none_or(|e| now < e)
}

/// One line of a basket: a unit price and a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Price of one ticket.
    pub unit_price: Money,
    /// How many (0 allowed: an untouched picker row).
    pub count: u32,
}

/// Sum of `unit_price × count` over lines of one currency. The tier picker
/// island and the server both call this, so they always agree.
pub fn subtotal(lines: &[Line], currency: super::money::Currency) -> Result<Money, MoneyError> {
    lines.iter().try_fold(Money::zero(currency), |acc, l| {
        acc.checked_add(l.unit_price.checked_mul(l.count)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;
    use proptest::prelude::*;

    fn level() -> impl Strategy<Value = QuotaLevel> {
        (0i64..1000, 0i64..1000, 0i64..1000).prop_map(|(size, sold, held)| QuotaLevel {
            size,
            sold,
            held,
        })
    }

    proptest! {
        #[test]
        fn availability_is_the_minimum_over_quotas(levels in proptest::collection::vec(level(), 1..5)) {
            let a = Availability::of_tier(&levels);
            let min = levels.iter().map(|l| (l.size - l.sold - l.held).max(0)).min().unwrap();
            prop_assert_eq!(a.0, min);
            prop_assert!(a.0 >= 0);
        }

        #[test]
        fn subtotal_adds_up_exactly(lines in proptest::collection::vec((0i64..10_000_000, 0u32..20), 0..6)) {
            let ls: Vec<Line> = lines.iter().map(|&(p, c)| Line { unit_price: Money::from_minor(p, Currency::IDR), count: c }).collect();
            let expected: i64 = lines.iter().map(|&(p, c)| p * i64::from(c)).sum();
            prop_assert_eq!(subtotal(&ls, Currency::IDR).unwrap().minor(), expected);
        }
    }

    #[test]
    fn a_tier_without_quotas_is_sold_out() {
        assert!(Availability::of_tier(&[]).is_sold_out());
    }

    #[test]
    fn max_pickable_respects_stock_and_per_order_limit() {
        assert_eq!(Availability(3).max_pickable(10), 3);
        assert_eq!(Availability(50).max_pickable(4), 4);
        assert_eq!(Availability(0).max_pickable(4), 0);
    }

    #[test]
    fn sale_window_is_half_open() {
        let t = Timestamp::from_millis;
        assert!(sale_window_open(t(5), Some(t(5)), Some(t(6))));
        assert!(!sale_window_open(t(6), Some(t(5)), Some(t(6))));
        assert!(!sale_window_open(t(4), Some(t(5)), None));
        assert!(sale_window_open(t(4), None, None));
    }
}

/// Derives a URL slug from a title: lower-case ASCII letters and digits
/// separated by single dashes, at most 60 characters. Accents are dropped
/// with their letter kept where it is a plain Latin letter with a mark
/// (é → e); other characters become separators. Never empty.
pub fn slugify(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for ch in title.chars() {
        let base = fold_latin(ch);
        if base.is_ascii_alphanumeric() {
            out.push(base.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "event".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Folds common accented Latin letters to their base letter.
pub fn fold_latin(ch: char) -> char {
    match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => 'A',
        'ç' | 'ć' | 'č' => 'c',
        'Ç' | 'Ć' | 'Č' => 'C',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' | 'ế' | 'ề' | 'ễ' | 'ệ' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => 'E',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => 'I',
        'ñ' | 'ń' | 'ň' => 'n',
        'Ñ' | 'Ń' | 'Ň' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ơ' | 'ồ' | 'ố' | 'ộ' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ơ' => 'O',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ư' | 'ů' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ư' | 'Ů' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        'ś' | 'š' => 's',
        'Ś' | 'Š' => 'S',
        'ź' | 'ż' | 'ž' => 'z',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        'đ' => 'd',
        'Đ' => 'D',
        other => other,
    }
}

#[cfg(test)]
mod slug_tests {
    use super::slugify;

    #[test]
    fn slugs_are_lowercase_ascii_with_single_dashes() {
        assert_eq!(
            slugify("Jazz  Night: Café Édition!"),
            "jazz-night-cafe-edition"
        );
        assert_eq!(slugify("!!!"), "event");
        assert_eq!(slugify("Konser Dwi Ayu — Live"), "konser-dwi-ayu-live");
        assert!(slugify(&"a".repeat(200)).len() <= 60);
    }
}

/// One refund rule: `percent` back when cancelled at least `days_before`
/// days before the event starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRule {
    /// Days before the start.
    pub days_before: u32,
    /// Share refunded, 0–100.
    pub percent: u8,
}

/// An event's refund policy: rules from the earliest cancellation to the
/// latest. No rules means no refunds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPolicy(Vec<RefundRule>);

impl RefundPolicy {
    /// Parses `"30:100,7:50"` (100 % until 30 days before, 50 % until 7
    /// days, nothing after). Rules must name distinct days; percentages may
    /// not grow as the event nears.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (d, p) = part.split_once(':').ok_or_else(|| {
                format!("write each refund rule as days:percent, e.g. 30:100 (got {part:?})")
            })?;
            let days_before: u32 = d
                .trim()
                .parse()
                .map_err(|_| format!("{:?} is not a number of days", d.trim()))?;
            let percent: u8 = p
                .trim()
                .trim_end_matches('%')
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| format!("{:?} is not a percentage from 0 to 100", p.trim()))?;
            rules.push(RefundRule {
                days_before,
                percent,
            });
        }
        rules.sort_by_key(|r| std::cmp::Reverse(r.days_before));
        for w in rules.windows(2) {
            if w[0].days_before == w[1].days_before {
                return Err(format!(
                    "two refund rules for {} days before",
                    w[0].days_before
                ));
            }
            if w[1].percent > w[0].percent {
                return Err("a refund cannot grow as the event gets closer".into());
            }
        }
        Ok(Self(rules))
    }

    /// The stored form (`"30:100,7:50"`).
    pub fn to_storage(&self) -> String {
        self.0
            .iter()
            .map(|r| format!("{}:{}", r.days_before, r.percent))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The rules, earliest first.
    pub fn rules(&self) -> &[RefundRule] {
        &self.0
    }

    /// The share refunded when cancelling at `now` for an event at `starts_at`.
    pub fn percent_at(&self, now: Timestamp, starts_at: Timestamp) -> u8 {
        let ms_before = starts_at.as_millis() - now.as_millis();
        self.0
            .iter()
            .find(|r| ms_before >= i64::from(r.days_before) * 86_400_000)
            .map_or(0, |r| r.percent)
    }
}

/// A tier's unit price at `now`: the early-bird price applies strictly
/// before `until`, the regular price from then on.
pub fn unit_price_at(regular: i64, early_bird: Option<(i64, Timestamp)>, now: Timestamp) -> i64 {
    match early_bird {
        Some((price, until)) if now < until => price,
        _ => regular,
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refund_policies_parse_and_apply_by_days_before() {
        let p = RefundPolicy::parse("7:50, 30:100%").unwrap();
        assert_eq!(p.to_storage(), "30:100,7:50");
        let start = Timestamp::from_millis(100 * 86_400_000);
        let days = |d: i64| Timestamp::from_millis(start.as_millis() - d * 86_400_000);
        assert_eq!(p.percent_at(days(40), start), 100);
        assert_eq!(p.percent_at(days(30), start), 100);
        assert_eq!(p.percent_at(days(29), start), 50);
        assert_eq!(p.percent_at(days(6), start), 0);
        assert!(RefundPolicy::parse("30:50,7:100").is_err());
        assert!(RefundPolicy::parse("30:101").is_err());
        assert!(RefundPolicy::parse("soon:100").is_err());
        assert_eq!(RefundPolicy::parse("").unwrap(), RefundPolicy::default());
    }

    proptest! {
        #[test]
        fn an_early_bird_price_applies_exactly_inside_its_window(
            regular in 0i64..10_000_000, early in 0i64..10_000_000, until in 0i64..1_000_000, now in 0i64..1_000_000,
        ) {
            let price = unit_price_at(regular, Some((early, Timestamp::from_millis(until))), Timestamp::from_millis(now));
            prop_assert_eq!(price, if now < until { early } else { regular });
            prop_assert_eq!(unit_price_at(regular, None, Timestamp::from_millis(now)), regular);
        }

        #[test]
        fn refunds_never_grow_as_the_event_nears(a in 0i64..400, b in 0i64..400) {
            let p = RefundPolicy::parse("60:100,30:75,7:25").unwrap();
            let start = Timestamp::from_millis(500 * 86_400_000);
            let at = |d: i64| p.percent_at(Timestamp::from_millis(start.as_millis() - d * 86_400_000), start);
            let (early, late) = if a >= b { (a, b) } else { (b, a) };
            prop_assert!(at(early) >= at(late));
        }
    }
}
