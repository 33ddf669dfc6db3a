//! The one integration-test binary. Every test that touches storage runs on
//! SQLite and on PostgreSQL (`both_backends!`).

mod helpers;

mod accounts;
mod audit;
mod authz;
mod banners;
mod catalogue;
mod checkout;
mod config_doc;
mod crash;
mod fake_stripe;
mod google;
mod holds;
mod holds_race;
mod jobs;
mod limits;
mod pages;
mod passwords;
mod payments;
mod privacy;
mod search;
mod seats;
mod smtp;
mod store_contract;
mod ticket_documents;
mod tickets;
mod tls;
mod tokens;
