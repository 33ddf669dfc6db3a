//! The in-process listing cache. Entries live for `listing_cache_ttl_secs`
//! (by the injected clock), so with several instances a change made on one is
//! seen by the others within that time; a change made here clears the cache
//! at once. A poisoned lock is treated as a miss: the database answers.

use std::{collections::HashMap, sync::Mutex};

use crate::{
    domain::{Timestamp, money::Lang},
    server_fns::views::EventListView,
    services::catalogue::SearchParams,
};

/// Entries beyond this are dropped wholesale (a cheap bound on memory).
const MAX_ENTRIES: usize = 1024;

/// Cached listing pages.
#[derive(Debug)]
pub struct ListingCache {
    ttl_ms: i64,
    entries: Mutex<HashMap<(SearchParams, Lang), (Timestamp, EventListView)>>,
}

impl ListingCache {
    /// A cache whose entries live `ttl_secs` (0 disables it).
    pub fn new(ttl_secs: u32) -> Self {
        Self {
            ttl_ms: i64::from(ttl_secs) * 1000,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh entry, if any.
    pub fn get(&self, params: &SearchParams, lang: Lang, now: Timestamp) -> Option<EventListView> {
        let entries = self.entries.lock().ok()?;
        let (stored, view) = entries.get(&(params.clone(), lang))?;
        (now.as_millis() - stored.as_millis() < self.ttl_ms).then(|| view.clone())
    }

    /// Stores an entry.
    pub fn put(&self, params: &SearchParams, lang: Lang, now: Timestamp, view: EventListView) {
        if self.ttl_ms <= 0 {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert((params.clone(), lang), (now, view));
        }
    }

    /// Drops everything: called after every catalogue change on this instance.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
