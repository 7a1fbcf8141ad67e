// Announcing from the dashboard: the big "Announce next" button (or the n key), each row's
// Announce button, the free-text box and Refresh (each tap goes through the send queue,
// queue.js). The toast after an announce says honestly
// where the line went: the bots that have it ("→ ntrbot"), the channels and targets that
// confirmed it as their acks arrive, or plainly that no bot is connected.
(function () {
  "use strict";

  const NTR = window.NTR;
  if (!NTR || !NTR.dash) { return; }

  // Open toasts by seq, so acks can add where the line landed.
  const bySeq = new Map();

  function connectedBots() {
    return (NTR.relays || []).filter((r) => r.connected);
  }

  function deliveryLine(data) {
    if (data.subscribers === 0) {
      return "No bot is connected — nothing reached IRC";
    }
    const bots = connectedBots().map((r) => r.name);
    const others = data.subscribers - bots.length;
    const parts = bots.slice();
    if (others > 0) { parts.push(NTR.plural(others, "other subscriber")); }
    return "→ " + (parts.length ? parts.join(", ") : NTR.plural(data.subscribers, "subscriber"));
  }

  // The toast for an announce answer (it replaces the one of the announce before).
  NTR.announced = function (data) {
    const kind = data.subscribers === 0 ? "bad" : "ok";
    const box = NTR.toast(["Sent: " + data.message, deliveryLine(data)], kind, null, "announce");
    box.dataset.seq = String(data.seq);
    bySeq.set(String(data.seq), { box: box, landed: [] });
    return box;
  };

  NTR.on("ack", (m) => {
    const entry = bySeq.get(String(m.seq));
    if (!entry || !entry.box.isConnected) { return; }
    if (!entry.landed.includes(m.target)) { entry.landed.push(m.target); }
    let line = entry.box.querySelector(".toast-landed");
    if (!line) {
      line = NTR.el("small", { class: "toast-sub toast-landed" });
      entry.box.insertBefore(line, entry.box.querySelector(".toast-close"));
    }
    line.textContent = "✓ landed in " + entry.landed.join(", ");
  });

  // Announces track `position` of show `showId` (one tap: its own key, queued if it cannot
  // go); asks first when that track was announced already. `button` is busy meanwhile.
  NTR.announceTrack = async function (showId, position, trackId, button) {
    const row = NTR.row(showId, position);
    if (!(button && button.id === "announce-next") && row && row.classList.contains("announced") &&
        !window.confirm("Song #" + position + " was already announced. Announce it again?")) {
      return;
    }
    const label = row ? NTR.rowName(row) : "#" + position;
    // A tap on a button leaves the focus on the next Announce; the search field keeps its own.
    if (button) { NTR.keepFocus(button, "#announce-next"); }
    NTR.busy(button, true);
    try {
      await NTR.sendTap({ show_id: Number(showId), position: position, track_id: trackId }, label, showId);
    } finally {
      NTR.busy(button, false);
    }
  };

  function announce(button) {
    return NTR.announceTrack(button.dataset.showId, Number(button.dataset.position), NTR.trackId(button), button);
  }

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button.announce, #announce-next");
    if (button && button.dataset.position) { announce(button); }
  });

  // Whether a key goes into a field (so it is text, not a shortcut).
  NTR.typing = function (target) {
    const tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || Boolean(target && target.isContentEditable);
  };

  // n: announce the next track, as the big button would.
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "n" || ev.ctrlKey || ev.metaKey || ev.altKey || NTR.typing(ev.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    const next = document.getElementById("announce-next");
    ev.preventDefault();
    if (next && next.dataset.position && !next.disabled) { announce(next); }
    else { NTR.toast("Nothing left to announce in this show.", "warn"); }
  });

  const freeText = document.getElementById("free-text");
  freeText.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("free-text-input");
    const text = input.value.trim();
    if (!text) { return; }
    const button = freeText.querySelector("button");
    NTR.keepFocus(button, "#announce-next");
    NTR.busy(button, true);
    // Cleared at once: a tap that has to wait is kept by the queue, not by the box.
    input.value = "";
    try {
      // The free text goes out under the show this page is on.
      const outcome = await NTR.sendTap({ text: text, show: NTR.dash.dataset.show }, text, NTR.primaryShowId());
      // Refused for good (too long, say): give the DJ their text back to mend.
      if (outcome === "failed" && !input.value) { input.value = text; }
    } finally {
      NTR.busy(button, false);
    }
  });

  // A show built by hand has no Refresh button: there is nothing to poll.
  const refresh = document.getElementById("refresh");
  if (!refresh) { return; }
  refresh.addEventListener("click", async () => {
    NTR.busy(refresh, true);
    try {
      const path = "/admin/refresh?show=" + encodeURIComponent(NTR.dash.dataset.show);
      const p = (await NTR.api("POST", path, {})).poll;
      const at = NTR.clock(p.at);
      // Looked up now: a redraw of the show may have replaced it since the page loaded.
      const status = document.getElementById("poll-status");
      status.className = p.ok ? "ok" : "bad";
      status.textContent = p.ok ? "Last poll " + at + ": ok, " + p.tracks + " tracks"
        : "Last poll " + at + " failed: " + p.error;
      if (p.ok) { NTR.toast("Playlist refreshed: " + NTR.plural(p.tracks, "track"), "ok"); NTR.refreshAll(); }
      else { NTR.toast("SoundCloud poll failed: " + p.error + " (the last good playlist stays)", "bad"); }
    } catch (e) {
      NTR.toast("Refresh failed: " + e.message, "bad");
    } finally {
      NTR.busy(refresh, false);
    }
  });
})();
