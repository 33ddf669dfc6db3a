//! Seat maps: parsing the CSV organizers import, and the kinds of seat.

use serde::{Deserialize, Serialize};

/// What kind of seat it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatKind {
    /// An ordinary seat.
    Standard,
    /// A wheelchair space.
    Wheelchair,
    /// A seat for a wheelchair user's companion, offered together.
    Companion,
}

impl SeatKind {
    /// Stored value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SeatKind::Standard => "standard",
            SeatKind::Wheelchair => "wheelchair",
            SeatKind::Companion => "companion",
        }
    }
    /// Reads a stored or typed value (`""` is standard).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "standard" => Some(SeatKind::Standard),
            "wheelchair" => Some(SeatKind::Wheelchair),
            "companion" => Some(SeatKind::Companion),
            _ => None,
        }
    }
}

/// One seat of an imported map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSpec {
    /// Section name.
    pub section: String,
    /// Row label.
    pub row: String,
    /// Seat number in the row (from 1).
    pub number: u32,
    /// Kind.
    pub kind: SeatKind,
    /// Never sold.
    pub blocked: bool,
    /// Tier name it sells as (empty: the section's default, set later).
    pub tier: String,
}

/// At most this many seats per map.
pub const MAX_SEATS: usize = 20_000;

/// Parses `section,row,number[,kind[,tier[,blocked]]]` lines (a header line
/// starting with `section` is skipped). Errors name the line.
pub fn parse_csv(text: &str) -> Result<Vec<SeatSpec>, String> {
    let mut seats: Vec<SeatSpec> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || (n == 1 && line.to_ascii_lowercase().starts_with("section")) {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() < 3 || cells.len() > 6 {
            return Err(format!(
                "line {n}: expected section,row,number[,kind[,tier[,blocked]]]"
            ));
        }
        let field = |s: &str, what: &str| -> Result<String, String> {
            if s.is_empty() || s.chars().count() > 40 || s.chars().any(char::is_control) {
                Err(format!("line {n}: the {what} must be 1 to 40 characters"))
            } else {
                Ok(s.to_owned())
            }
        };
        let number: u32 = cells[2]
            .parse()
            .ok()
            .filter(|v| (1..=10_000).contains(v))
            .ok_or_else(|| {
                format!(
                    "line {n}: {:?} is not a seat number from 1 to 10000",
                    cells[2]
                )
            })?;
        let kind = SeatKind::parse(cells.get(3).copied().unwrap_or("")).ok_or_else(|| {
            format!("line {n}: the kind must be standard, wheelchair or companion")
        })?;
        let blocked = match cells.get(5).map(|s| s.to_ascii_lowercase()) {
            None => false,
            Some(b) if b.is_empty() || b == "no" || b == "false" => false,
            Some(b) if b == "yes" || b == "true" || b == "blocked" => true,
            Some(b) => return Err(format!("line {n}: blocked must be yes or no, not {b:?}")),
        };
        let seat = SeatSpec {
            section: field(cells[0], "section")?,
            row: field(cells[1], "row")?,
            number,
            kind,
            blocked,
            tier: cells.get(4).map(|s| s.to_string()).unwrap_or_default(),
        };
        if seats
            .iter()
            .any(|s| s.section == seat.section && s.row == seat.row && s.number == seat.number)
        {
            return Err(format!(
                "line {n}: seat {} {}{} appears twice",
                seat.section, seat.row, seat.number
            ));
        }
        seats.push(seat);
        if seats.len() > MAX_SEATS {
            return Err(format!("a seat map holds at most {MAX_SEATS} seats"));
        }
    }
    Ok(seats)
}

/// A grid: `rows` rows labelled from `first_row` (A, B, …), `per_row` seats each.
pub fn grid(
    section: &str,
    first_row: char,
    rows: u32,
    per_row: u32,
    tier: &str,
) -> Result<Vec<SeatSpec>, String> {
    if !first_row.is_ascii_uppercase() || rows == 0 || rows > 26 || per_row == 0 || per_row > 200 {
        return Err(
            "a grid has 1 to 26 rows from a capital letter and 1 to 200 seats per row".into(),
        );
    }
    if u32::from(first_row) + rows - 1 > u32::from('Z') {
        return Err("rows run past Z; start earlier or use fewer rows".into());
    }
    let section = section.trim();
    if section.is_empty() || section.chars().count() > 40 {
        return Err("name the section (1 to 40 characters)".into());
    }
    Ok((0..rows)
        .flat_map(|r| {
            let row = char::from_u32(u32::from(first_row) + r)
                .unwrap_or('A')
                .to_string();
            (1..=per_row).map(move |number| SeatSpec {
                section: section.to_owned(),
                row: row.clone(),
                number,
                kind: SeatKind::Standard,
                blocked: false,
                tier: tier.trim().to_owned(),
            })
        })
        .collect())
}

/// A seat as best-available sees it: where it is and whether it is free.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCell {
    /// Section name.
    pub section: String,
    /// Row label.
    pub row: String,
    /// Seat number in the row.
    pub number: u32,
    /// Kind.
    pub kind: SeatKind,
    /// Not blocked, sells as a tier, and neither held nor sold.
    pub free: bool,
}

/// Picks `n` seats together in `section` for a buyer who did not use the map.
///
/// Seats are given in map order (front rows first). The first row that has a
/// run of `n` free, consecutively numbered seats wins, and within it the run
/// closest to the row's middle. Wheelchair spaces and companion seats are kept
/// for buyers who ask for them: with `accessible`, the pick is one wheelchair
/// space plus `n - 1` seats next to it, companion seats first. Returns indexes
/// into `seats`, or `None` when no such group is free.
pub fn best_available(
    seats: &[SeatCell],
    section: &str,
    n: usize,
    accessible: bool,
) -> Option<Vec<usize>> {
    if n == 0 {
        return None;
    }
    // Rows of the section, in map order, each a list of indexes by number.
    let mut rows: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, s) in seats
        .iter()
        .enumerate()
        .filter(|(_, s)| s.section == section)
    {
        match rows.iter_mut().find(|(r, _)| *r == s.row) {
            Some((_, idx)) => idx.push(i),
            None => rows.push((&s.row, vec![i])),
        }
    }
    for (_, idx) in &mut rows {
        idx.sort_by_key(|&i| seats[i].number);
    }
    let adjacent = |a: usize, b: usize| seats[b].number == seats[a].number + 1;
    for (_, idx) in &rows {
        if accessible {
            if let Some(group) = accessible_group(seats, idx, n) {
                return Some(group);
            }
            continue;
        }
        let usable = |i: usize| seats[i].free && seats[i].kind == SeatKind::Standard;
        let mid = (seats[idx[0]].number + seats[*idx.last()?].number) as i64;
        let mut best: Option<(i64, usize)> = None;
        for start in 0..idx.len().saturating_sub(n - 1) {
            let run = &idx[start..start + n];
            let ok = run.iter().all(|&i| usable(i)) && run.windows(2).all(|w| adjacent(w[0], w[1]));
            if ok {
                let centre = (seats[run[0]].number + seats[run[n - 1]].number) as i64;
                let distance = (centre - mid).abs();
                if best.is_none_or(|(d, _)| distance < d) {
                    best = Some((distance, start));
                }
            }
        }
        if let Some((_, start)) = best {
            return Some(idx[start..start + n].to_vec());
        }
    }
    None
}

/// One free wheelchair space of a row with `n - 1` free seats beside it
/// (companion seats preferred), all consecutively numbered.
fn accessible_group(seats: &[SeatCell], row: &[usize], n: usize) -> Option<Vec<usize>> {
    let mut best: Option<(usize, Vec<usize>)> = None;
    for start in 0..row.len().saturating_sub(n - 1) {
        let run = &row[start..start + n];
        let consecutive = run
            .windows(2)
            .all(|w| seats[w[1]].number == seats[w[0]].number + 1);
        let free = run.iter().all(|&i| seats[i].free);
        let wheelchairs = run
            .iter()
            .filter(|&&i| seats[i].kind == SeatKind::Wheelchair)
            .count();
        if !(consecutive && free && wheelchairs == 1) {
            continue;
        }
        let companions = run
            .iter()
            .filter(|&&i| seats[i].kind == SeatKind::Companion)
            .count();
        if best.as_ref().is_none_or(|(c, _)| companions > *c) {
            best = Some((companions, run.to_vec()));
        }
    }
    best.map(|(_, run)| run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_imports_with_clear_errors() {
        let seats = parse_csv("section,row,number,kind,tier,blocked\nStalls,A,1\nStalls,A,2,wheelchair,VIP\nStalls,A,3,companion,VIP,no\nStalls,B,1,,,yes\n").unwrap();
        assert_eq!(seats.len(), 4);
        assert_eq!(seats[1].kind, SeatKind::Wheelchair);
        assert!(seats[3].blocked);
        assert_eq!(
            parse_csv("Stalls,A,0").unwrap_err(),
            "line 1: \"0\" is not a seat number from 1 to 10000"
        );
        assert_eq!(
            parse_csv("Stalls,A,1\nStalls,A,1").unwrap_err(),
            "line 2: seat Stalls A1 appears twice"
        );
        assert!(parse_csv("Stalls,A,1,sofa").unwrap_err().contains("kind"));
    }

    #[test]
    fn grids_label_rows_from_a_letter() {
        let g = grid("Balcony", 'C', 2, 3, "Regular").unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(
            (g[0].row.as_str(), g[5].row.as_str(), g[5].number),
            ("C", "D", 3)
        );
        assert!(grid("X", 'Y', 3, 1, "").is_err());
    }

    fn row(section: &str, row: &str, kinds: &str, taken: &[u32]) -> Vec<SeatCell> {
        kinds
            .chars()
            .enumerate()
            .map(|(i, k)| {
                let number = i as u32 + 1;
                SeatCell {
                    section: section.into(),
                    row: row.into(),
                    number,
                    kind: match k {
                        'W' => SeatKind::Wheelchair,
                        'C' => SeatKind::Companion,
                        _ => SeatKind::Standard,
                    },
                    free: !taken.contains(&number),
                }
            })
            .collect()
    }

    fn numbers(seats: &[SeatCell], picked: Option<Vec<usize>>) -> Vec<String> {
        picked
            .unwrap_or_default()
            .into_iter()
            .map(|i| format!("{}{}", seats[i].row, seats[i].number))
            .collect()
    }

    #[test]
    fn best_available_takes_the_front_row_then_the_middle() {
        let mut seats = row("Stalls", "A", "SSSSSS", &[3, 4]);
        seats.extend(row("Stalls", "B", "SSSSSS", &[]));
        // Row A has no 3 together (1-2 and 5-6); row B does, in the middle.
        assert_eq!(
            numbers(&seats, best_available(&seats, "Stalls", 3, false)),
            ["B2", "B3", "B4"]
        );
        assert_eq!(
            numbers(&seats, best_available(&seats, "Stalls", 2, false)),
            ["A1", "A2"]
        );
        assert_eq!(best_available(&seats, "Stalls", 7, false), None);
        assert_eq!(best_available(&seats, "Balcony", 1, false), None);
        assert_eq!(best_available(&seats, "Stalls", 0, false), None);
    }

    #[test]
    fn accessible_seats_are_offered_together_and_kept_for_those_who_ask() {
        let seats = row("Stalls", "A", "WCSSS", &[]);
        assert_eq!(
            numbers(&seats, best_available(&seats, "Stalls", 2, true)),
            ["A1", "A2"]
        );
        assert_eq!(
            numbers(&seats, best_available(&seats, "Stalls", 1, true)),
            ["A1"]
        );
        // A standard request never takes the wheelchair space or companion seat.
        assert_eq!(
            numbers(&seats, best_available(&seats, "Stalls", 3, false)),
            ["A3", "A4", "A5"]
        );
        assert_eq!(best_available(&seats, "Stalls", 4, false), None);
        let taken = row("Stalls", "A", "WCSSS", &[1]);
        assert_eq!(best_available(&taken, "Stalls", 2, true), None);
    }
}
