//! Per-relay values for `/metrics`, read from the registry at scrape time and labelled with the
//! relay's name: whether it is connected, whether it reports being in its IRC channels, its
//! cursor and the lag of its last ack.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::{Relays, delivering};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RelayLabel {
    relay: String,
}

/// The collector; register it once.
pub struct RelayMetrics(pub Relays);

impl fmt::Debug for RelayMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayMetrics").finish_non_exhaustive()
    }
}

/// One gauge per relay: name, help, unit, and the value of each relay.
type Series = (
    &'static str,
    &'static str,
    Option<Unit>,
    Vec<(RelayLabel, f64)>,
);

impl Collector for RelayMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let infos = self.0.infos();
        let each = |value: &dyn Fn(&ntr_protocol::RelayInfo) -> f64| -> Vec<(RelayLabel, f64)> {
            infos
                .iter()
                .map(|i| {
                    (
                        RelayLabel {
                            relay: i.name.clone(),
                        },
                        value(i),
                    )
                })
                .collect()
        };
        let series: [Series; 4] = [
            (
                "relay_connected",
                "1 while the relay is connected to the hub.",
                None,
                each(&|i| f64::from(u8::from(i.connected))),
            ),
            (
                "relay_delivering",
                "1 while the relay is connected and, if it reports, in its IRC channels.",
                None,
                each(&|i| f64::from(u8::from(delivering(i)))),
            ),
            (
                "relay_cursor",
                "The highest seq the relay has taken delivery of (0: none).",
                None,
                each(&|i| i.cursor.map_or(0.0, |s| s.get() as f64)),
            ),
            (
                "relay_last_ack_lag",
                "From the announce to the relay's last ack.",
                Some(Unit::Seconds),
                each(&|i| {
                    i.last_ack
                        .as_ref()
                        .map_or(0.0, |a| a.lag_ms as f64 / 1000.0)
                }),
            ),
        ];
        for (name, help, unit, values) in series {
            let gauge = ConstGauge::new(0.0);
            let mut family =
                encoder.encode_descriptor(name, help, unit.as_ref(), gauge.metric_type())?;
            for (label, value) in &values {
                ConstGauge::new(*value).encode(family.encode_family(label)?)?;
            }
        }
        Ok(())
    }
}
