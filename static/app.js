// The dashboard's live parts: Announce buttons, the free-text box, Refresh, the connection dot,
// toasts, and per-track "announced at … → #channel" from the WebSocket. The page works without
// this script (the playlist is in the HTML); this only makes it interactive.
(function () {
  "use strict";

  const toasts = document.getElementById("toasts");
  const connText = document.getElementById("conn-text");
  const conn = document.getElementById("conn");

  function toast(text, kind) {
    const el = document.createElement("div");
    el.className = "toast " + (kind || "ok");
    el.setAttribute("role", kind === "bad" ? "alert" : "status");
    el.textContent = text;
    toasts.appendChild(el);
    setTimeout(() => el.remove(), kind === "bad" ? 8000 : 4000);
  }

  async function post(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await resp.json(); } catch (_) { /* not JSON: keep the status */ }
    if (resp.status === 401) { window.location.href = "/login"; }
    if (!resp.ok) { throw new Error(data.error || ("HTTP " + resp.status)); }
    return data;
  }

  function rowFor(showId, position) {
    return document.querySelector(
      'section[data-show-id="' + showId + '"] tr[data-position="' + position + '"]');
  }

  function markAnnounced(showId, position, seq, when) {
    const row = rowFor(showId, position);
    // The POST's answer and the WebSocket's copy of the same announce can come in either order.
    if (!row || row.dataset.seq === String(seq)) { return; }
    row.classList.add("announced");
    row.dataset.seq = String(seq);
    const landed = row.querySelector(".landed");
    if (landed) {
      landed.dataset.targets = "";
      landed.textContent = "Announced " + when;
    }
  }

  function markLanded(seq, target) {
    const row = document.querySelector('tr[data-seq="' + seq + '"]');
    if (!row) { return; }
    const landed = row.querySelector(".landed");
    if (!landed) { return; }
    const targets = (landed.dataset.targets || "").split(",").filter(Boolean);
    if (!targets.includes(target)) { targets.push(target); }
    landed.dataset.targets = targets.join(",");
    landed.textContent = landed.textContent.split(" → ")[0] + " → " + targets.join(", ");
  }

  function timeNow() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  async function announce(button) {
    const showId = Number(button.dataset.showId);
    const position = Number(button.dataset.position);
    const row = rowFor(showId, position);
    if (row && row.classList.contains("announced") &&
        !window.confirm("Song #" + position + " was already announced. Announce it again?")) {
      return;
    }
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const data = await post("/admin/announce", { show_id: showId, position: position });
      markAnnounced(showId, position, data.seq, timeNow());
      toast("Sent to " + data.subscribers + " subscriber" + (data.subscribers === 1 ? "" : "s") + ": " + data.message, "ok");
    } catch (e) {
      toast("Announce failed: " + e.message, "bad");
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }

  document.querySelectorAll("button.announce").forEach((b) => {
    b.addEventListener("click", () => announce(b));
  });

  // "n": announce the next unannounced track of the first show on the page.
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "n" || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    const tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA") { return; }
    const first = document.querySelector("section.show");
    const next = first && first.querySelector("tr:not(.announced) button.announce");
    if (next) { ev.preventDefault(); next.focus(); announce(next); }
    else { toast("Every track of this show has been announced.", "ok"); }
  });

  const freeText = document.getElementById("free-text");
  if (freeText) {
    freeText.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const input = document.getElementById("free-text-input");
      const text = input.value.trim();
      if (!text) { return; }
      try {
        const data = await post("/admin/announce", { text: text });
        input.value = "";
        toast("Sent: " + data.message, "ok");
      } catch (e) {
        toast("Announce failed: " + e.message, "bad");
      }
    });
  }

  const refresh = document.getElementById("refresh");
  if (refresh) {
    refresh.addEventListener("click", async () => {
      refresh.setAttribute("aria-busy", "true");
      refresh.disabled = true;
      const status = document.getElementById("poll-status");
      try {
        const data = await post("/admin/refresh");
        const p = data.poll;
        if (p.ok) {
          status.className = "ok";
          status.textContent = "Last poll " + timeNow() + ": ok, " + p.tracks + " tracks";
          toast("Playlist refreshed: " + p.tracks + " tracks. Reloading…", "ok");
          setTimeout(() => window.location.reload(), 800);
        } else {
          status.className = "bad";
          status.textContent = "Last poll " + timeNow() + " failed: " + p.error;
          toast("SoundCloud poll failed: " + p.error + " (the last good playlist stays)", "bad");
        }
      } catch (e) {
        toast("Refresh failed: " + e.message, "bad");
      } finally {
        refresh.removeAttribute("aria-busy");
        refresh.disabled = false;
      }
    });
  }

  // Live connection: status dot, subscriber count, announces from elsewhere, acks.
  let backoff = 1000;
  function connect() {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + window.location.host + "/ws/announce");
    ws.onopen = () => { backoff = 1000; conn.classList.add("up"); connText.textContent = "live"; };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (_) { return; }
      // Other panels (relays.js) read the same socket through this event.
      document.dispatchEvent(new CustomEvent("ntr:message", { detail: m }));
      if (m.type === "status") {
        connText.textContent = "live · " + m.subscribers + " subscriber" + (m.subscribers === 1 ? "" : "s");
      } else if (m.type === "announce" && m.show_id !== null) {
        const when = new Date(m.announced_at).toLocaleTimeString([], { hour12: false });
        markAnnounced(m.show_id, m.position, m.seq, when);
      } else if (m.type === "ack") {
        markLanded(m.seq, m.target);
      }
    };
    ws.onclose = () => {
      conn.classList.remove("up");
      connText.textContent = "reconnecting…";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  if (conn) { connect(); }
})();
