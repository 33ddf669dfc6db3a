//! `admit seed`: demo data for development, dated relative to now so the
//! home page always has upcoming events. Refused in production.

use crate::{
    domain::{Category, Currency, EventStatus, Timestamp, UserId, catalogue::slugify},
    error::ServiceError,
    state::AppState,
    store::{NewEvent, NewOrganization, NewQuota, NewTier, NewUser},
};

/// The password of every demo account (listed in the README).
pub const DEMO_PASSWORD: &str = "Admit!2026";

/// The demo accounts (email, name, admin). Listed in the README.
pub const DEMO_ACCOUNTS: &[(&str, &str, bool)] = &[
    ("admin@admit.test", "Ayu Admin", true),
    ("owner@jakarta-live.test", "Budi Santoso", false),
    ("owner@bali-arts.test", "Made Wirawan", false),
    ("owner@nusantara-tech.test", "Sari Dewi", false),
    ("staff@jakarta-live.test", "Rudi Hartono", false),
    ("attendee1@admit.test", "Zoë Nguyễn", false),
    ("attendee2@admit.test", "Dwi Ayu Lestari", false),
];

struct DemoEvent {
    org: usize,
    title: &'static str,
    category: Category,
    venue: &'static str,
    city: &'static str,
    zone: &'static str,
    currency: Currency,
    /// (tier name, price in minor units, quota share)
    tiers: &'static [(&'static str, i64)],
    capacity: i64,
}

const JKT: &str = "Asia/Jakarta";
const BALI: &str = "Asia/Makassar";

const EVENTS: &[DemoEvent] = &[
    DemoEvent {
        org: 0,
        title: "Java Jazz Night",
        category: Category::Music,
        venue: "JIExpo Hall A",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Regular", 350_000), ("VIP", 1_250_000)],
        capacity: 500,
    },
    DemoEvent {
        org: 2,
        title: "RustConf Jakarta",
        category: Category::Conference,
        venue: "Balai Kartini",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Early Bird", 450_000), ("Regular", 750_000)],
        capacity: 300,
    },
    DemoEvent {
        org: 1,
        title: "Ubud Sunset Dance",
        category: Category::Arts,
        venue: "Puri Saren",
        city: "Ubud",
        zone: BALI,
        currency: Currency::IDR,
        tiers: &[("General", 200_000)],
        capacity: 120,
    },
    DemoEvent {
        org: 0,
        title: "Bandung Indie Fest",
        category: Category::Music,
        venue: "Sabuga",
        city: "Bandung",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Festival", 275_000), ("VIP", 900_000)],
        capacity: 800,
    },
    DemoEvent {
        org: 2,
        title: "Open Source Meetup",
        category: Category::Conference,
        venue: "Co-working Kuningan",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Free entry", 0)],
        capacity: 80,
    },
    DemoEvent {
        org: 1,
        title: "Batik Workshop",
        category: Category::Workshop,
        venue: "Rumah Batik",
        city: "Yogyakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Participant", 150_000)],
        capacity: 25,
    },
    DemoEvent {
        org: 0,
        title: "Jakarta Marathon Expo",
        category: Category::Sports,
        venue: "GBK Arena",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Runner kit", 500_000)],
        capacity: 2000,
    },
    DemoEvent {
        org: 1,
        title: "Denpasar Street Food Night",
        category: Category::Food,
        venue: "Lapangan Renon",
        city: "Denpasar",
        zone: BALI,
        currency: Currency::IDR,
        tiers: &[("Tasting pass", 125_000)],
        capacity: 400,
    },
    DemoEvent {
        org: 2,
        title: "Data Engineering Summit",
        category: Category::Conference,
        venue: "Grand Hyatt",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Standard", 1_500_000), ("Workshop add-on", 2_000_000)],
        capacity: 250,
    },
    DemoEvent {
        org: 0,
        title: "Surabaya Rock Arena",
        category: Category::Music,
        venue: "Grand City",
        city: "Surabaya",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Regular", 300_000), ("VIP", 800_000)],
        capacity: 1000,
    },
    DemoEvent {
        org: 1,
        title: "Kecak Fire Dance",
        category: Category::Arts,
        venue: "Uluwatu Temple",
        city: "Uluwatu",
        zone: BALI,
        currency: Currency::IDR,
        tiers: &[("Seat", 150_000)],
        capacity: 0,
    },
    DemoEvent {
        org: 2,
        title: "Leptos Hack Day",
        category: Category::Workshop,
        venue: "Hacker Space",
        city: "Bandung",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Hacker", 0)],
        capacity: 40,
    },
    DemoEvent {
        org: 0,
        title: "Semarang Futsal Cup",
        category: Category::Sports,
        venue: "GOR Jatidiri",
        city: "Semarang",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Spectator", 50_000)],
        capacity: 600,
    },
    DemoEvent {
        org: 1,
        title: "Makassar Coffee Festival",
        category: Category::Food,
        venue: "Pantai Losari",
        city: "Makassar",
        zone: BALI,
        currency: Currency::IDR,
        tiers: &[("Day pass", 75_000)],
        capacity: 900,
    },
    DemoEvent {
        org: 0,
        title: "Orchestra of the Archipelago",
        category: Category::Music,
        venue: "Taman Ismail Marzuki",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Balcony", 400_000), ("Stalls", 650_000)],
        capacity: 700,
    },
    DemoEvent {
        org: 2,
        title: "Product Design Day",
        category: Category::Workshop,
        venue: "Kopi Kenangan HQ",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Attendee", 350_000)],
        capacity: 60,
    },
    DemoEvent {
        org: 1,
        title: "Lombok Surf Classic",
        category: Category::Sports,
        venue: "Kuta Beach",
        city: "Lombok",
        zone: BALI,
        currency: Currency::IDR,
        tiers: &[("Beach pass", 100_000)],
        capacity: 1500,
    },
    DemoEvent {
        org: 0,
        title: "Comedy Night Kemang",
        category: Category::Arts,
        venue: "Kemang Village",
        city: "Jakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Regular", 180_000)],
        capacity: 150,
    },
    DemoEvent {
        org: 2,
        title: "Singapore Cloud Forum",
        category: Category::Conference,
        venue: "Marina Bay Sands",
        city: "Singapore",
        zone: "Asia/Singapore",
        currency: Currency::SGD,
        tiers: &[("Delegate", 29_900)],
        capacity: 400,
    },
    DemoEvent {
        org: 1,
        title: "Gamelan Soirée at the Kraton",
        category: Category::Other,
        venue: "Kraton Pagelaran",
        city: "Yogyakarta",
        zone: JKT,
        currency: Currency::IDR,
        tiers: &[("Regular", 120_000), ("Front row", 300_000)],
        capacity: 200,
    },
];

/// The seated demo event: (title, seated tier, rows, seats per row).
const SEATED: (&str, &str, u32, u32) = ("Gamelan Soirée at the Kraton", "Front row", 4, 10);

/// The seated demo's map: section "Pendopo", rows A–D; A1 is a wheelchair
/// space with its companion seat A2 beside it.
fn demo_seats(tier: &str) -> Vec<crate::store::catalogue::NewSeat> {
    use crate::domain::seats::SeatKind;
    crate::domain::seats::grid("Pendopo", 'A', SEATED.2, SEATED.3, "")
        .unwrap_or_default()
        .into_iter()
        .map(|mut spec| {
            if spec.row == "A" && spec.number == 1 {
                spec.kind = SeatKind::Wheelchair;
            } else if spec.row == "A" && spec.number == 2 {
                spec.kind = SeatKind::Companion;
            }
            crate::store::catalogue::NewSeat {
                spec,
                tier_id: Some(tier.to_owned()),
            }
        })
        .collect()
}

/// What `seed` did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    /// Demo data created.
    Seeded {
        /// Events created.
        events: usize,
    },
    /// The database already had events; nothing changed.
    AlreadySeeded,
}

/// Creates the demo accounts, 3 approved organizations and 20 published
/// events, unless the database already has events.
#[tracing::instrument(skip(state))]
pub async fn seed(state: &AppState) -> Result<SeedOutcome, ServiceError> {
    if state.config.settings.env == crate::config::Environment::Production {
        return Err(ServiceError::Invalid(
            "demo seeding is refused when ADMIT_ENV=production".into(),
        ));
    }
    if state.store.count_events().await? > 0 {
        return Ok(SeedOutcome::AlreadySeeded);
    }
    let now = state.now();
    // One hash for every demo account: hashing is slow on purpose.
    let password_hash = crate::services::accounts::hash_password(DEMO_PASSWORD.to_owned()).await?;
    let mut users = Vec::new();
    for (email, name, is_admin) in DEMO_ACCOUNTS {
        let user = state
            .store
            .create_user(NewUser {
                email: (*email).into(),
                name: (*name).into(),
                password_hash: Some(password_hash.clone()),
                is_admin: *is_admin,
                email_verified_at: Some(now),
                now,
            })
            .await?;
        users.push(UserId::from_string(user.id));
    }
    let orgs_spec = [
        ("jakarta-live", "Jakarta Live", "owner@jakarta-live.test", 1),
        (
            "bali-arts",
            "Bali Arts Collective",
            "owner@bali-arts.test",
            2,
        ),
        (
            "nusantara-tech",
            "Nusantara Tech",
            "owner@nusantara-tech.test",
            3,
        ),
    ];
    let mut orgs = Vec::new();
    for (slug, name, contact, owner) in orgs_spec {
        orgs.push(
            state
                .store
                .create_organization(NewOrganization {
                    slug: slug.into(),
                    name: name.into(),
                    contact_email: contact.into(),
                    description: format!("{name} runs events across Indonesia."),
                    approved: true,
                    owner: users[owner].clone(),
                    now,
                })
                .await?,
        );
    }
    // Rudi is door staff of Jakarta Live, for every event.
    state
        .store
        .add_member(&orgs[0], &users[4], "staff", now)
        .await?;
    let day = 86_400_000;
    for (i, ev) in EVENTS.iter().enumerate() {
        // Spread over the coming weeks, at 19:30 local-ish (12:30 UTC for Jakarta).
        let start_day = (now.as_millis() / day + 2 + 3 * i as i64) * day;
        let starts_at = Timestamp::from_millis(start_day + 12 * 3_600_000 + 30 * 60_000);
        let event_id = state
            .store
            .create_event(NewEvent {
                org_id: orgs[ev.org].clone(),
                slug: slugify(ev.title),
                title: ev.title.into(),
                description: format!(
                    "{} at {}, {}. Doors open an hour before the start. Bring your e-ticket on your phone.",
                    ev.title, ev.venue, ev.city
                ),
                category: ev.category,
                venue: ev.venue.into(),
                address: format!("{}, {}", ev.venue, ev.city),
                city: ev.city.into(),
                starts_at,
                ends_at: starts_at.plus_minutes(4 * 60),
                time_zone: ev.zone.into(),
                currency: ev.currency,
                now,
            })
            .await?;
        // Tiers share one venue-capacity quota, as in pretix.
        let quota = state
            .store
            .create_quota(NewQuota {
                event_id: event_id.clone(),
                name: "Venue capacity".into(),
                size: ev.capacity,
            })
            .await?;
        // The seated demo: its front rows are sold by seat from their own
        // quota, which also counts against the venue's capacity.
        let seats_quota = if ev.title == SEATED.0 {
            Some(
                state
                    .store
                    .create_quota(NewQuota {
                        event_id: event_id.clone(),
                        name: "Front-row seats".into(),
                        size: i64::from(SEATED.2 * SEATED.3),
                    })
                    .await?,
            )
        } else {
            None
        };
        let mut seated_tier = None;
        for (pos, (name, price)) in ev.tiers.iter().enumerate() {
            let seated = seats_quota.is_some() && *name == SEATED.1;
            let mut quota_ids = vec![quota.clone()];
            if seated {
                quota_ids.extend(seats_quota.clone());
            }
            let tier = state
                .store
                .create_tier(NewTier {
                    event_id: event_id.clone(),
                    name: (*name).into(),
                    description: String::new(),
                    price_minor: *price,
                    max_per_order: 6,
                    sale_starts_at: None,
                    sale_ends_at: None,
                    hidden: false,
                    position: pos as i64,
                    early_bird: None,
                    quota_ids,
                })
                .await?;
            if seated {
                seated_tier = Some(tier);
            }
        }
        if let Some(tier) = seated_tier {
            state
                .store
                .replace_seats(&event_id, &demo_seats(&tier.to_string()))
                .await?;
        }
        state
            .store
            .set_event_status(&event_id, EventStatus::Published, now)
            .await?;
    }
    state.listings.clear();
    Ok(SeedOutcome::Seeded {
        events: EVENTS.len(),
    })
}
