//! Islands: the only components hydrated in the browser. Kept small, with
//! serde props; they call the same `domain` code as the server.

pub mod countdown;
pub mod scanner;
pub mod seat_picker;
pub mod tier_picker;
