//! Money: integer minor units plus an ISO 4217 currency. No floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The currencies admit can sell in. Each event has exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// Indonesian rupiah (no minor unit in practice).
    IDR,
    /// US dollar.
    USD,
    /// Euro.
    EUR,
    /// Singapore dollar.
    SGD,
    /// Malaysian ringgit.
    MYR,
    /// Japanese yen.
    JPY,
}

/// Why an amount or currency was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not one of [`Currency::ALL`].
    #[error("unsupported currency {0:?}; use one of IDR, USD, EUR, SGD, MYR, JPY")]
    UnknownCurrency(String),
    /// Amounts of different currencies were combined.
    #[error("cannot combine {0:?} with {1:?}")]
    CurrencyMismatch(Currency, Currency),
    /// Negative where only zero or more makes sense (a price).
    #[error("the amount must not be negative")]
    Negative,
    /// Past what i64 minor units can hold.
    #[error("the amount is too large")]
    Overflow,
}

impl Currency {
    /// Every supported currency.
    pub const ALL: [Currency; 6] = [
        Currency::IDR,
        Currency::USD,
        Currency::EUR,
        Currency::SGD,
        Currency::MYR,
        Currency::JPY,
    ];

    /// Parses an ISO 4217 code (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let up = code.trim().to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|c| c.code() == up)
            .ok_or(MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::IDR => "IDR",
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::SGD => "SGD",
            Currency::MYR => "MYR",
            Currency::JPY => "JPY",
        }
    }

    /// Digits after the decimal point in display and in minor units.
    ///
    /// IDR officially has 2, but prices are never shown with cents and Stripe
    /// treats it as zero-decimal for display; admit stores whole rupiah.
    pub const fn decimals(self) -> u32 {
        match self {
            Currency::IDR | Currency::JPY => 0,
            _ => 2,
        }
    }

    /// Minor units per major unit (100 for USD, 1 for IDR).
    pub const fn minor_per_major(self) -> i64 {
        10_i64.pow(self.decimals())
    }

    const fn symbol(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Currency::IDR, _) => "Rp ",
            (Currency::USD, Lang::En) => "$",
            (Currency::USD, Lang::Id) => "US$",
            (Currency::EUR, _) => "€",
            (Currency::SGD, _) => "S$",
            (Currency::MYR, _) => "RM ",
            (Currency::JPY, _) => "¥",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The display languages admit speaks; decides number separators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Lang {
    /// English: `1,234.50`.
    #[default]
    En,
    /// Indonesian: `1.234,50`.
    Id,
}

impl Lang {
    /// The BCP 47 tag.
    pub const fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }
    /// Parses a tag such as `id` or `en-GB`; anything else is `None`.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "id" | "in" => Some(Lang::Id),
            _ => None,
        }
    }
}

/// An amount of money in minor units of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }
    /// Zero of a currency.
    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }
    /// A price: zero or more minor units.
    pub fn price(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Self { minor, currency })
    }
    /// Minor units.
    pub const fn minor(self) -> i64 {
        self.minor
    }
    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }
    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }
    /// Multiplies by a count of units.
    pub fn checked_mul(self, n: u32) -> Result<Money, MoneyError> {
        let minor = self
            .minor
            .checked_mul(i64::from(n))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// Formats for display, e.g. `Rp 150.000` (id) or `$12.50` (en).
    pub fn format(self, lang: Lang) -> String {
        let (thousands, decimal) = match lang {
            Lang::En => (',', '.'),
            Lang::Id => ('.', ','),
        };
        let per = self.currency.minor_per_major();
        let abs = self.minor.unsigned_abs();
        let major = abs / per as u64;
        let frac = abs % per as u64;
        let digits = major.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(thousands);
            }
            grouped.push(ch);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        let mut out = format!("{sign}{}{grouped}", self.currency.symbol(lang));
        if self.currency.decimals() > 0 {
            let width = self.currency.decimals() as usize;
            out.push(decimal);
            out.push_str(&format!("{frac:0width$}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rupiah_is_shown_without_decimals_with_local_separators() {
        let p = Money::from_minor(150_000, Currency::IDR);
        assert_eq!(p.format(Lang::Id), "Rp 150.000");
        assert_eq!(p.format(Lang::En), "Rp 150,000");
    }

    #[test]
    fn dollars_show_cents() {
        let p = Money::from_minor(1_234_550, Currency::USD);
        assert_eq!(p.format(Lang::En), "$12,345.50");
        assert_eq!(p.format(Lang::Id), "US$12.345,50");
        assert_eq!(
            Money::from_minor(5, Currency::EUR).format(Lang::En),
            "€0.05"
        );
    }

    #[test]
    fn mixing_currencies_is_refused() {
        let a = Money::from_minor(1, Currency::IDR);
        let b = Money::from_minor(1, Currency::USD);
        assert_eq!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch(Currency::IDR, Currency::USD))
        );
    }

    #[test]
    fn currency_codes_parse_case_insensitively() {
        assert_eq!(Currency::parse("idr"), Ok(Currency::IDR));
        assert!(Currency::parse("XXX").is_err());
        assert_eq!(Lang::parse("id-ID"), Some(Lang::Id));
        assert_eq!(Lang::parse("fr"), None);
    }
}
