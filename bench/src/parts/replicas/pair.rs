//! Two replicas of one station, A and B: release hubs sharing a fresh database on a throwaway
//! PostgreSQL 15 cluster (`ntr-testpg`, started once per bench process on 127.0.0.1 and removed
//! when the bench ends), each with its own data directory and port. Also the one SQLite hub the
//! replicas are compared with.
//!
//! A is started first and waited for until its first SoundCloud poll: it is then the station's
//! poller, and B, which never polls, is waited for until `/health` answers.
//!
//! Where they run: A and the SQLite hub on the server CPU, B on the client's CPU (each replica
//! a core of its own, as on two machines), PostgreSQL unpinned.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::parts::Ctx;
use crate::servers::{HubSetup, Server};
use crate::subscribers::{Fleet, Round};

/// A and B, each with the setup (config, data directory, fake SoundCloud) it runs on.
pub struct Pair {
    pub a: Server,
    pub b: Server,
    /// The seq A's next announce gets (learnt from the warm-up).
    next_seq: u64,
    /// Dropped after the servers, which stop first.
    _setups: [HubSetup; 2],
}

impl Pair {
    /// A and B on a fresh database, or `None` (with the reason on stderr) where PostgreSQL 15
    /// is missing.
    pub fn start(ctx: &Ctx) -> Result<Option<Pair>> {
        let Some(url) = ctx.rt.block_on(ntr_testpg::fresh_database()) else {
            return Ok(None);
        };
        let setup_a = HubSetup::replica(&ctx.rt, &url, "a")?;
        let setup_b = HubSetup::replica(&ctx.rt, &url, "b")?;
        let a = Server::hub(setup_a.start(ctx.cpus.server)?, setup_a.addr())?;
        let b = Server::hub(setup_b.start_answering(ctx.cpus.client)?, setup_b.addr())?;
        Ok(Some(Pair {
            a,
            b,
            next_seq: 0,
            _setups: [setup_a, setup_b],
        }))
    }

    /// Stops both, B first.
    pub fn stop(self) {
        let Pair { a, b, .. } = self;
        b.proc.stop();
        a.proc.stop();
    }

    /// One line announced on A, unmeasured, then `pause` for it to reach everybody.
    pub fn warm_up(&mut self, pause: Duration) -> Result<()> {
        let seq = self.a.announce_text("bench warm-up")?.seq.get();
        self.next_seq = seq + 1;
        std::thread::sleep(pause);
        Ok(())
    }

    /// One measured announce of `text` on A, timed to each fleet (subscribers of A or B):
    /// one round per fleet, in their order. Call [`Pair::warm_up`] first.
    pub fn announce(
        &mut self,
        fleets: &[&Fleet],
        text: &str,
        limit: Duration,
    ) -> Result<Vec<Round>> {
        let seq = self.next_seq;
        let a = &mut self.a;
        let mut got = None;
        let rounds = Fleet::round_all(fleets, seq, limit, || {
            got = Some(a.announce_text(text)?.seq.get());
            Ok(())
        })?;
        if got != Some(seq) {
            bail!("replica A gave seq {got:?}, expected {seq}: is something else announcing?");
        }
        self.next_seq = seq + 1;
        Ok(rounds)
    }

    /// Where each process runs, for the table.
    pub fn layout(ctx: &Ctx) -> String {
        let (Some(server), Some(client)) = (ctx.cpus.server, ctx.cpus.client) else {
            return "hubs, clients and PostgreSQL not pinned: all share the machine's cores".into();
        };
        format!(
            "replica A and the SQLite hub on CPU {server}, replica B on CPU {client}, the \
             clients on CPU {client}, PostgreSQL unpinned: all share the machine's cores"
        )
    }
}

/// The one SQLite hub, on the server CPU, with its setup.
pub struct Single {
    pub hub: Server,
    _setup: HubSetup,
}

impl Single {
    pub fn start(ctx: &Ctx) -> Result<Single> {
        let setup = HubSetup::new(&ctx.rt, 0)?;
        let hub = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
        Ok(Single { hub, _setup: setup })
    }

    pub fn stop(self) {
        let Single { hub, _setup } = self;
        hub.proc.stop();
    }
}

/// The row of a measurement that could not run: no PostgreSQL here.
pub fn not_measured(what: &str) -> crate::report::Row {
    crate::report::Row::info(
        what,
        "not measured: PostgreSQL 15 is missing here (the reason is on stderr; Debian: apt-get \
         install postgresql)",
        "-",
    )
}
