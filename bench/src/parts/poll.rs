//! Part 7: SoundCloud requests of a poll when nothing changed. The hub process polls the fake
//! SoundCloud (20 liked tracks) twice through `POST /admin/refresh`; the fake counts what the
//! second poll asked for.

use anyhow::{Result, bail};

use super::{Ctx, progress};
use crate::http::Http;
use crate::report::Row;
use crate::servers::HubSetup;

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    progress("poll: two refreshes against the fake SoundCloud");
    let setup = HubSetup::new(&ctx.rt, 20)?;
    let hub = setup.start(ctx.cpus.server)?;
    let fake = &setup.test_hub.soundcloud;
    let mut http = Http::new(setup.addr())?;
    let mut refresh = || -> Result<serde_json::Value> {
        let r = http.post("/admin/refresh", Some(e2e::hub::ADMIN_TOKEN), b"{}")?;
        if r.status != 200 {
            bail!("refresh answered {}", r.status);
        }
        r.json()
    };
    fake.clear_requests();
    let first = refresh()?;
    let first_requests = fake.requests().len();
    fake.clear_requests();
    let second = refresh()?;
    let requests = fake.requests();
    hub.stop();
    if second["status"] != "ok" {
        bail!("the second poll failed: {second}");
    }
    Ok(vec![Row::new(
        "7. SoundCloud requests of an unchanged poll",
        format!(
            "{} ({}); the poll before it: {first_requests} (hub says {})",
            requests.len(),
            requests.join(", ").chars().take(80).collect::<String>(),
            first["poll"]["requests"]
        ),
        "1",
        requests.len() == 1,
    )])
}
