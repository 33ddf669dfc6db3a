//! How many tickets of one tier a buyer asks for.

use serde::{Deserialize, Serialize};

/// A requested number of tickets: at least 1, at most [`Quantity::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

/// Why a quantity was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Zero or negative.
    #[error("choose at least 1 ticket")]
    Zero,
    /// Above the hard cap on any single order line.
    #[error("at most {max} tickets can be bought at once")]
    TooMany {
        /// The cap.
        max: u32,
    },
    /// Not a whole number.
    #[error("the quantity must be a whole number")]
    NotANumber,
}

impl Quantity {
    /// Hard cap for one order line, whatever the tier allows; it bounds the
    /// work a single request can cause.
    pub const MAX: u32 = 100;

    /// Parses a quantity from a number.
    pub fn parse(n: u32) -> Result<Self, QuantityError> {
        match n {
            0 => Err(QuantityError::Zero),
            n if n > Self::MAX => Err(QuantityError::TooMany { max: Self::MAX }),
            n => Ok(Self(n)),
        }
    }

    /// Parses a quantity typed into a form field.
    pub fn parse_str(s: &str) -> Result<Self, QuantityError> {
        let n: i64 = s.trim().parse().map_err(|_| QuantityError::NotANumber)?;
        if n <= 0 {
            return Err(QuantityError::Zero);
        }
        Self::parse(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = QuantityError;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::parse(n)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> u32 {
        q.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_too_many_are_refused_with_reasons() {
        assert_eq!(Quantity::parse(0), Err(QuantityError::Zero));
        assert_eq!(
            Quantity::parse(101),
            Err(QuantityError::TooMany { max: 100 })
        );
        assert_eq!(Quantity::parse_str(" 3 ").map(Quantity::get), Ok(3));
        assert_eq!(Quantity::parse_str("-1"), Err(QuantityError::Zero));
        assert_eq!(Quantity::parse_str("two"), Err(QuantityError::NotANumber));
    }
}
