// The send path of every announce tap (big button, a row's Announce, n, free text, search):
// each tap gets its own Idempotency-Key, so sending it again can never announce it twice. A
// tap that cannot be sent (offline, a network error, no answer in 5 s, a 5xx) waits in
// localStorage, survives a reload, and is sent again with the same key every 2 s until the hub
// answers. One that waited longer than the show's max age is not sent on its own: the DJ
// chooses to announce it now, only log it at the time it was tapped, or drop it.
(function () {
  "use strict";

  const NTR = window.NTR;
  if (!NTR || !NTR.dash) { return; }

  const STORE = "ntr-announce-queue";
  const ANSWER_WITHIN = 5000;
  const RETRY_EVERY = 2000;
  const DEFAULT_MAX_AGE = 90;
  const box = document.getElementById("queue");
  const head = document.getElementById("queue-head");
  const list = document.getElementById("queue-list");

  let waiting = load();
  waiting.forEach((tap) => { delete tap.fresh; });
  let sending = false;
  // The last send failed for want of a link; cleared by any answer from the hub.
  let linkLost = false;

  function load() {
    try {
      const taps = JSON.parse(window.localStorage.getItem(STORE) || "[]");
      return Array.isArray(taps) ? taps.filter((t) => t && t.key && t.body) : [];
    } catch (_) {
      return []; // unreadable or blocked storage: start empty rather than not at all
    }
  }

  function save() {
    try { window.localStorage.setItem(STORE, JSON.stringify(waiting)); } catch (_) { /* private mode: kept in memory */ }
    render();
  }

  // Re-read on every check: a redraw or a test may change it while the page is open.
  function maxAgeMs() {
    const seconds = Number(NTR.dash.dataset.maxAgeSeconds);
    return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_MAX_AGE) * 1000;
  }

  NTR.offline = function () {
    return linkLost || !navigator.onLine || NTR.linkUp === false;
  };

  // 408 and 429 say "try again later", and 401 "log in again" (the page goes to the login,
  // and the tap is sent after it); any other 4xx is the hub's final word on this tap.
  function final(e) {
    return e.status >= 400 && e.status < 500 && ![401, 408, 429].includes(e.status);
  }

  // One try of one tap. Resolves to "sent", "held", "failed" (final, dropped) or "waiting".
  async function attempt(tap) {
    let data;
    try {
      data = await NTR.api("POST", "/admin/announce", tap.body,
        { headers: { "Idempotency-Key": tap.key }, timeout: ANSWER_WITHIN });
    } catch (e) {
      if (e.status && final(e)) {
        linkLost = false;
        forget(tap);
        NTR.tapFailed("Not announced", e, tap.showId);
        return "failed";
      }
      linkLost = Boolean(e.network);
      return "waiting";
    }
    linkLost = false;
    forget(tap);
    if (data && data.status === "held") { NTR.held(data); } else if (tap.body.log_only) {
      NTR.toast(["Logged only: " + data.message, "in the show's log at " + NTR.clock(tap.at) + ", sent to nobody"],
        "ok", null, "announce");
    } else { NTR.announced(data); }
    if (tap.showId) { NTR.refreshShow(tap.showId); }
    return data && data.status === "held" ? "held" : "sent";
  }

  function forget(tap) {
    waiting = waiting.filter((t) => t.key !== tap.key);
    save();
  }

  // The callers of NTR.sendTap still waiting to hear how their tap's first try went, by key.
  const firstTry = new Map();
  function settle(tap, outcome) {
    delete tap.fresh;
    const resolve = firstTry.get(tap.key);
    firstTry.delete(tap.key);
    if (resolve) { resolve(outcome); }
  }

  // A new tap; resolves with how its first try went. It goes behind any tap still waiting, so
  // lines keep the order they were tapped.
  NTR.sendTap = async function (body, label, showId) {
    // Fresh until its first try is over (or a tap before it could not go): a tap that goes at
    // once never flashes up as waiting.
    const tap = { key: NTR.newKey(), body: body, label: label, showId: showId || null, at: Date.now(), fresh: true };
    const outcome = new Promise((resolve) => firstTry.set(tap.key, resolve));
    waiting.push(tap);
    save();
    flush();
    if (await outcome === "waiting") {
      NTR.toast(["Not sent yet: " + label, "Kept here; it goes out with the same key when the hub answers"],
        "warn", null, "announce");
    }
    return outcome;
  };

  // The oldest tap that may go on its own; marks those past the max age for the DJ to decide.
  function nextToSend() {
    for (const tap of waiting) {
      if (tap.forced || Date.now() - tap.at <= maxAgeMs()) { return tap; }
      if (!tap.stale) { tap.stale = true; save(); }
    }
    return null;
  }

  // Sends the waiting taps oldest first (taps added meanwhile too); stops at the first that
  // still cannot go, and tells the callers of the taps behind it that theirs wait as well.
  async function flush() {
    if (sending) { return; }
    sending = true;
    try {
      for (let tap = nextToSend(); tap; tap = nextToSend()) {
        const outcome = await attempt(tap);
        settle(tap, outcome);
        if (outcome === "waiting") { save(); break; }
      }
    } finally {
      sending = false;
      waiting.forEach((tap) => settle(tap, "waiting"));
      render();
    }
  }

  // The DJ's three choices for a tap past the max age.
  function choose(tap, how) {
    if (how === "drop") { forget(tap); NTR.toast("Dropped: " + tap.label + " — nothing was sent", "warn"); return; }
    tap.forced = true;
    tap.stale = false;
    if (how === "log") {
      // Another body under the old key would be refused: the log-only request is its own.
      tap.body = Object.assign({}, tap.body, { log_only: true, at: new Date(tap.at).toISOString() });
      tap.key = NTR.newKey();
    }
    save();
    flush();
  }

  function choiceButtons(tap) {
    const row = NTR.el("span", { class: "queue-choices" });
    [["now", "Announce now"], ["log", "Log only"], ["drop", "Drop"]].forEach(([how, text]) => {
      const b = NTR.el("button", { type: "button", class: "secondary small", "data-choice": how }, text);
      b.addEventListener("click", () => choose(tap, how));
      row.appendChild(b);
    });
    return row;
  }

  function render() {
    if (!box) { return; }
    const shown = waiting.filter((tap) => !tap.fresh);
    box.hidden = shown.length === 0;
    const count = NTR.plural(shown.length, "announce") + " waiting";
    head.textContent = (NTR.offline() ? "offline — " : "sending — ") + count;
    list.replaceChildren(...shown.map((tap) => {
      const item = NTR.el("li", { "data-key": tap.key });
      item.appendChild(NTR.el("span", { class: "queue-line" }, tap.label));
      item.appendChild(NTR.el("small", { class: "muted" }, " tapped " + NTR.clock(tap.at)));
      if (tap.stale) {
        item.appendChild(NTR.el("small", { class: "queue-stale" },
          "Waited longer than " + Math.round(maxAgeMs() / 1000) + " s — send it anyway?"));
        item.appendChild(choiceButtons(tap));
      }
      return item;
    }));
  }

  // Another tab of this browser changed the queue: take its list, so neither tab's next save
  // drops the other's taps (a tap both send is still announced once: it has one key).
  window.addEventListener("storage", (ev) => {
    if (ev.key === STORE) { waiting = load(); render(); }
  });
  window.addEventListener("online", () => { render(); flush(); });
  window.addEventListener("offline", render);
  document.addEventListener("ntr:link", () => { render(); if (NTR.linkUp) { flush(); } });
  setInterval(flush, RETRY_EVERY);
  render();
  flush();
})();
