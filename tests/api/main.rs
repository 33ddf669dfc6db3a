//! The one integration-test binary. Every test that touches storage runs on
//! SQLite and on PostgreSQL (`both_backends!`).

mod helpers;

mod accounts;
mod authz;
mod banners;
mod catalogue;
mod checkout;
mod config_doc;
mod crash;
mod fake_stripe;
mod holds;
mod holds_race;
mod jobs;
mod pages;
mod payments;
mod search;
mod seats;
mod smtp;
mod store_contract;
mod ticket_documents;
