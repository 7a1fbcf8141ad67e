//! Drills: a target down for a while then back, and kill -9 of the hub process with
//! deliveries pending. Each line arrives exactly once, in order.

use std::time::Duration;

use e2e::fake_target::{FakeTarget, Reply};
use e2e::hub::{TestHub, TestSchedule};

use crate::support::{
    T, announce, discord_toml, spawn_logged, stop, wait_listening, wait_row, wait_status,
    webhook_toml,
};

#[tokio::test]
async fn a_target_down_for_a_while_gets_every_line_once_when_back() {
    let discord = FakeTarget::discord().await;
    let hub = TestHub::start_with(
        TestSchedule::default(),
        &discord_toml("discord", &discord.url()),
    )
    .await;
    discord.stop();

    let seqs = [
        hub.announce_text("one").await,
        hub.announce_text("two").await,
        hub.announce_text("three").await,
    ];
    // Down long enough for several failed attempts at the first line.
    let row = wait_row(&hub, seqs[0], "discord", T, |r| {
        r["attempts"].as_u64().is_some_and(|n| n >= 3)
    })
    .await;
    assert_eq!(row["status"], "pending", "{row}");
    let error = row["last_error"]
        .as_str()
        .expect("error kept while retrying");
    assert!(error.starts_with("cannot connect"), "{error}");

    discord.resume().await;
    for seq in seqs {
        wait_status(&hub, seq, "discord", "sent", T).await;
    }
    let contents: Vec<String> = discord
        .received()
        .iter()
        .map(|r| r.body["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(contents, ["one", "two", "three"], "each once, in order");
}

/// A graceful stop (an upgrade, a restart) while a target is answering: the hub waits for the
/// answer and records it, so the line the target took is not sent again after the restart.
#[tokio::test]
async fn a_graceful_restart_mid_send_sends_the_line_once() {
    let receiver = FakeTarget::webhook(None).await;
    receiver.script([Reply::Slow(Duration::from_millis(1500))]);
    let mut hub = TestHub::start_with(
        TestSchedule::default(),
        &webhook_toml("hook", &receiver.url(), None),
    )
    .await;
    let seq = hub.announce_text("slow to answer").await;
    receiver
        .wait_until(T, "the send open", |r| r.hanging() == 1)
        .await;
    hub.restart().await;
    wait_status(&hub, seq, "hook", "sent", T).await;
    let after = hub.announce_text("after the restart").await;
    wait_status(&hub, after, "hook", "sent", T).await;
    let seqs: Vec<u64> = receiver
        .delivered()
        .iter()
        .filter_map(|b| b["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [seq, after], "the line the target took went once");
}

#[tokio::test]
async fn kill_9_with_pending_deliveries_delivers_each_line_once_after_restart() {
    let receiver = FakeTarget::webhook(None).await;
    let mut template = TestHub::start_with(
        TestSchedule::default(),
        &webhook_toml("hook", &receiver.url(), None),
    )
    .await;
    template.stop().await;
    let config = template.write_config();
    let hub = template;

    let mut process = spawn_logged(&config, None);
    wait_listening(&hub).await;
    let sent_before = announce(&hub, "sent before the crash").await;
    wait_status(&hub, sent_before, "hook", "sent", T).await;

    receiver.stop();
    let pending = [
        announce(&hub, "pending one").await,
        announce(&hub, "pending two").await,
    ];
    wait_row(&hub, pending[0], "hook", T, |r| r["last_error"].is_string()).await;
    process.kill().expect("kill -9");
    let _ = process.wait();

    receiver.resume().await;
    let mut process = spawn_logged(&config, None);
    wait_listening(&hub).await;
    for seq in pending {
        let row = wait_status(&hub, seq, "hook", "sent", T).await;
        assert!(row["attempts"].as_u64().is_some_and(|n| n >= 1), "{row}");
    }
    // A line after the restart: once it is in, anything re-sent would have come before it.
    let after = announce(&hub, "after the restart").await;
    wait_status(&hub, after, "hook", "sent", T).await;
    stop(&mut process).await;

    let seqs: Vec<u64> = receiver
        .delivered()
        .iter()
        .filter_map(|b| b["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [sent_before, pending[0], pending[1], after]);
}
