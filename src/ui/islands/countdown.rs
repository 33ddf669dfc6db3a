//! The hold countdown. It ticks every second in the browser and asks the
//! server for the hold's state every few seconds: the server's clock is the
//! authority, so a hold that ended there ends here too. Without WASM the page
//! shows the time left when it was rendered.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Translated labels.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CountdownLabels {
    /// "left to complete your order".
    pub left: String,
    /// "Your hold has ended and the tickets went back on sale."
    pub ended: String,
    /// "Try again".
    pub retry: String,
}

/// How often the server is asked, in milliseconds.
pub const SYNC_MS: u64 = 3_000;

/// `mm:ss` of a duration in milliseconds (rounded up, so 0:00 means over).
pub fn clock(ms: i64) -> String {
    let secs = (ms.max(0) + 999) / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The countdown of an open hold.
#[island]
pub fn HoldCountdown(
    order_id: String,
    remaining_ms: i64,
    retry_href: String,
    labels: CountdownLabels,
) -> impl IntoView {
    let remaining = RwSignal::new(remaining_ms.max(0));
    let ended = RwSignal::new(remaining_ms <= 0);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        set_interval(
            move || remaining.update(|r| *r = (*r - 1000).max(0)),
            std::time::Duration::from_secs(1),
        );
        let id = order_id.clone();
        set_interval(
            move || {
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    if let Ok(s) = crate::server_fns::orders::hold_status(id).await {
                        remaining.set(s.remaining_ms.max(0));
                        if !matches!(s.status.as_str(), "reserved" | "pending_payment") {
                            ended.set(true);
                        }
                    }
                });
            },
            std::time::Duration::from_millis(SYNC_MS),
        );
    });
    let over = move || ended.get() || remaining.get() == 0;
    let CountdownLabels {
        left,
        ended: ended_text,
        retry,
    } = labels;
    view! {
        <div data-testid="countdown" data-hydrated=move || hydrated.get().then_some("true")>
            <Show
                when=move || !over()
                fallback=move || view! {
                    <div role="alert" data-testid="hold-ended" class="rounded bg-amber-50 p-3 text-amber-900">
                        <p>{ended_text.clone()}</p>
                        <a data-testid="try-again" href=retry_href.clone() class="mt-2 inline-block font-medium">{retry.clone()}</a>
                    </div>
                }
            >
                <p class="text-lg">
                    <span role="timer" data-testid="countdown-time" data-remaining-ms=move || remaining.get().to_string() class="font-mono text-2xl font-semibold">
                        {move || clock(remaining.get())}
                    </span>
                    " "
                    {left.clone()}
                </p>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_rounds_up_and_never_goes_negative() {
        assert_eq!(super::clock(900_000), "15:00");
        assert_eq!(super::clock(61_001), "1:02");
        assert_eq!(super::clock(1), "0:01");
        assert_eq!(super::clock(-5), "0:00");
    }
}
