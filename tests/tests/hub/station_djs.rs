//! A station's DJs in Chromium: each logs in with their own name and sees only their show (no
//! switcher, no relays or targets panel); announces, corrects and edits it; gets 403 for the
//! other DJ's show by URL; the station admin, in a browser of their own, switches between both
//! shows and sees each DJ's change live.

use std::time::Duration;

use e2e::browser::Browser;
use e2e::hub::ADMIN_TOKEN;
use e2e::station_hub::{BOSS, JO, NICK, StationHub};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(15);

/// Three records in `slug`'s current week; its id.
async fn week_with_records(station: &StationHub, slug: &str) -> i64 {
    let id = station.week_id(slug).await;
    for n in 1..=3 {
        let status = station
            .http
            .post(format!("{}/admin/shows/{id}/tracks", station.url()))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"title": format!("{slug} {n}"), "artist": "Band"}))
            .send()
            .await
            .expect("add a record")
            .status();
        assert_eq!(status, 200, "add {slug} {n}");
    }
    id
}

fn row(id: i64, position: u32, css: &str) -> String {
    format!("#show-{id} tr[data-position='{position}'] {css}")
}

fn announced(id: i64, position: u32) -> String {
    format!("#show-{id} tr[data-position='{position}'].announced")
}

/// What a DJ's dashboard shows of the station: its title, whether a switcher is drawn, and
/// whether the admin's panels are.
async fn what_a_dj_sees(browser: &Browser) -> Value {
    browser
        .eval(
            "return [document.getElementById('dash-show').textContent.trim(),\
                     !!document.getElementById('show-select'),\
                     !!document.getElementById('relay-list'),\
                     !!document.getElementById('targets-body')]",
        )
        .await
}

#[tokio::test]
async fn each_dj_runs_only_their_show_and_the_admin_sees_both_live() {
    let Some(nick) = Browser::start().await else {
        return;
    };
    let Some(jo) = Browser::start().await else {
        return;
    };
    let Some(boss) = Browser::start().await else {
        return;
    };
    let station = StationHub::start().await;
    let ntr = week_with_records(&station, "ntr").await;
    let jazz = week_with_records(&station, "jazz").await;
    let url = station.url();
    let failure = format!("station-djs-failure-{}", station.port);
    nick.or_screenshot(&failure, async {
        nick.log_in_as(&url, NICK, T).await;
        jo.log_in_as(&url, JO, T).await;
        boss.log_in_as(&url, BOSS, T).await;
        assert_eq!(
            what_a_dj_sees(&nick).await,
            json!(["ntr", false, false, false])
        );
        assert_eq!(
            what_a_dj_sees(&jo).await,
            json!(["jazz", false, false, false])
        );
        assert_eq!(
            what_a_dj_sees(&boss).await,
            json!(["ntr", true, true, false]),
            "the admin opens on the show that airs next, with the switcher and the relays panel \
             (no targets are configured, so no targets panel)"
        );

        // Nick announces, corrects and edits ntr; the admin's browser follows each live.
        nick.click(&row(ntr, 1, "button.announce")).await;
        boss.wait_for_selector(&announced(ntr, 1), T).await;
        nick.click("#now-next button.correct").await;
        nick.wait_for_selector("#correct-dialog[open]", T).await;
        nick.click("#correct-form select option[value='2']").await;
        nick.click("#correct-form button[type=submit]").await;
        boss.wait_for_selector(&announced(ntr, 2), T).await;
        nick.click(&row(ntr, 3, "button.move-up")).await;
        boss.wait_for_script(
            &format!(
                "return document.querySelector(\"{}\").dataset.title === 'ntr 3'",
                row(ntr, 2, "").trim_end()
            ),
            T,
        )
        .await;
        nick.screenshots("#dash", ["dashboard-dj-375", "dashboard-dj-1280"])
            .await;

        // Jo's show by URL is not Nick's.
        nick.goto(&format!("{url}/dashboard?show=jazz")).await;
        let refused = nick.text("body").await;
        assert!(refused.contains("jazz is not yours"), "{refused}");

        // Jo announces jazz; the admin switches to it and sees it.
        jo.click(&row(jazz, 1, "button.announce")).await;
        boss.eval(
            "const s = document.getElementById('show-select'); s.value = 'jazz'; return true",
        )
        .await;
        boss.click("#switcher button[type=submit]").await;
        boss.wait_for_selector(&announced(jazz, 1), T).await;
        assert_eq!(
            what_a_dj_sees(&boss).await[0],
            "jazz",
            "the admin switched to jazz"
        );
    })
    .await;
}
