//! Counters the services keep for `/metrics`: swipes by action, matches made, and how long
//! deck precomputes take. The app registers them with the metrics registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    pub action: &'static str,
}

#[derive(Clone)]
pub struct MatchingStats {
    pub swipes: Family<ActionLabel, Counter>,
    pub matches: Counter,
    pub deck_precompute: Histogram,
}

impl Default for MatchingStats {
    fn default() -> Self {
        Self {
            swipes: Family::default(),
            matches: Counter::default(),
            deck_precompute: Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
        }
    }
}

impl MatchingStats {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "swipes",
            "Likes and passes stored, by action",
            self.swipes.clone(),
        );
        registry.register(
            "matches_created",
            "Matches made by mutual likes",
            self.matches.clone(),
        );
        registry.register(
            "deck_precompute_seconds",
            "Time to rank one member's discovery deck",
            self.deck_precompute.clone(),
        );
    }
}
