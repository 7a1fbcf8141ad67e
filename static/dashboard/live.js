// The dashboard's live connection: one WebSocket to /ws/announce (the session cookie
// authenticates it). Announces, acks and "show changed" frames make the affected show's section
// be re-read from the hub (GET /dashboard/shows/{id}, server-rendered) and swapped in, so an
// edit in another tab, a script or a poll shows here within a second. A reconnect resumes with
// ?since= the last seq seen and re-reads every show on the page. The page is one show of the
// station (data-show): other shows' announces, and the acks of them, leave it alone.
(function () {
  "use strict";

  const NTR = window.NTR;
  const conn = document.getElementById("conn");
  const connText = document.getElementById("conn-text");
  if (!NTR || !NTR.dash || !conn) { return; }

  let lastSeq = Number(NTR.dash.dataset.lastSeq || 0);
  const slug = NTR.dash.dataset.show || null;
  // The seqs of other shows' announces, so their acks are not mistaken for this page's.
  const elsewhere = new Set();
  const inflight = new Set();
  const dirty = new Set();
  const listeners = {};

  // Other scripts react to frames (toasts follow acks, relay names): NTR.on("ack", fn), or,
  // for panels that do not depend on these helpers, the "ntr:message" event with the frame.
  NTR.on = function (type, fn) { (listeners[type] = listeners[type] || []).push(fn); };
  function emit(type, frame) {
    (listeners[type] || []).forEach((fn) => fn(frame));
    document.dispatchEvent(new CustomEvent("ntr:message", { detail: frame }));
  }

  // What had the focus, so a swap does not drop a keyboard user back to the top.
  function focusKey() {
    const el = document.activeElement;
    if (!el || el === document.body) { return null; }
    const row = el.closest("tr[data-position]");
    const section = el.closest("[data-show-id]");
    return {
      id: el.id, cls: el.classList[0], tag: el.tagName,
      position: row ? row.dataset.position : null,
      show: section ? section.dataset.showId : null,
    };
  }

  function restoreFocus(key) {
    const want = NTR.focusAfter || key;
    NTR.focusAfter = null;
    if (!want || (document.activeElement && document.activeElement !== document.body)) { return; }
    let target = want.id ? document.getElementById(want.id) : null;
    if (!target && want.position && want.show) {
      const row = NTR.row(want.show, want.position);
      target = row && row.querySelector(want.cls ? "." + want.cls : "button");
    }
    if (target && !target.disabled) { target.focus(); }
  }

  // Swaps in every [data-live] element of a fragment by id, keeping <details> open or closed.
  function swapIn(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    const key = focusKey();
    tpl.content.querySelectorAll("[data-live][id]").forEach((fresh) => {
      const old = document.getElementById(fresh.id);
      if (!old) { return; }
      if (old.tagName === "DETAILS") { fresh.open = old.open; }
      old.replaceWith(fresh);
    });
    restoreFocus(key);
    document.dispatchEvent(new CustomEvent("ntr:swapped"));
  }

  // Re-reads one show; calls that come while one is running fold into one more read after it.
  NTR.refreshShow = async function (showId) {
    if (!NTR.section(showId)) { return; }
    if (inflight.has(showId)) { dirty.add(showId); return; }
    inflight.add(showId);
    try {
      const resp = await fetch("/dashboard/shows/" + showId, { credentials: "same-origin", cache: "no-store" });
      if (resp.redirected && new URL(resp.url).pathname === "/login") { window.location.href = "/login"; return; }
      if (resp.ok) { swapIn(await resp.text()); }
    } catch (_) {
      dirty.add(showId); // offline for a moment: the reconnect re-reads every show anyway
    } finally {
      inflight.delete(showId);
      if (dirty.delete(showId)) { NTR.refreshShow(showId); }
    }
  };

  NTR.refreshAll = function () {
    document.querySelectorAll("section.show[data-show-id]").forEach((s) => NTR.refreshShow(s.dataset.showId));
  };

  NTR.primaryShowId = function () {
    const s = document.querySelector("section.show[data-primary]");
    return s ? s.dataset.showId : null;
  };

  function showOfSeq(seq) {
    const hit = document.querySelector('section.show [data-seq="' + seq + '"]');
    const section = hit && hit.closest("section.show");
    return section ? section.dataset.showId : null;
  }

  function onFrame(m) {
    if (m.type === "announce" && slug !== null && typeof m.show === "string" && m.show !== slug) {
      lastSeq = Math.max(lastSeq, m.seq);
      elsewhere.add(m.seq);
    } else if (m.type === "ack" && elsewhere.has(m.seq)) {
      // Another show's line landed somewhere: nothing of it is on this page.
    } else if (m.type === "announce") {
      lastSeq = Math.max(lastSeq, m.seq);
      // A free text lands in the log of the show the DJ is announcing from.
      NTR.refreshShow(m.show_id !== null ? m.show_id : NTR.primaryShowId());
      if (m.corrects) { const s = showOfSeq(m.corrects); if (s) { NTR.refreshShow(s); } }
    } else if (m.type === "show_changed") {
      NTR.refreshShow(m.show_id);
    } else if (m.type === "ack") {
      // An ack can outrun the redraw that brings its announce onto the page: then redraw all.
      const s = showOfSeq(m.seq);
      if (s) { NTR.refreshShow(s); } else { NTR.refreshAll(); }
    } else if (m.type === "relays") {
      NTR.relays = m.relays;
      relayFrames += 1;
    }
    emit(m.type, m);
  }

  // The relays' state until the next `relays` frame (frames come only when it changes): the
  // announce toasts name the bots from it.
  let relayFrames = 0;
  async function loadRelays() {
    const before = relayFrames;
    try {
      const relays = await NTR.api("GET", "/admin/relays");
      // A frame that came meanwhile is newer than this answer.
      if (Array.isArray(relays) && relayFrames === before) { NTR.relays = relays; }
    } catch (e) {
      console.warn("relay states unavailable:", e.message);
    }
  }

  // Whether the live connection is open and the browser thinks it is online; the send queue
  // reads it (NTR.linkUp) and hears of changes ("ntr:link"). A browser that goes offline may
  // keep a dead socket open for minutes, so its own offline event counts at once.
  let socketUp = false;
  function setConn(up, text) {
    socketUp = up;
    const linkUp = up && navigator.onLine;
    conn.classList.toggle("up", linkUp);
    connText.textContent = navigator.onLine ? text : "offline";
    if (NTR.linkUp !== linkUp) {
      NTR.linkUp = linkUp;
      document.dispatchEvent(new CustomEvent("ntr:link"));
    }
  }
  window.addEventListener("offline", () => setConn(socketUp, "offline"));
  window.addEventListener("online", () => {
    setConn(socketUp, socketUp ? "live" : "offline, retrying…");
    if (!socketUp && retryTimer) { clearTimeout(retryTimer); connect(); }
  });

  let backoff = 1000;
  let opened = false;
  let retryTimer = null;
  let current = null;
  function connect() {
    retryTimer = null;
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + window.location.host + "/ws/announce?since=" + lastSeq);
    current = ws;
    ws.onopen = () => {
      backoff = 1000;
      setConn(true, "live");
      // Changes while we were away carried no seq to replay: read the shows again.
      if (opened) { NTR.refreshAll(); }
      opened = true;
      loadRelays();
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (_) { return; }
      onFrame(m);
    };
    ws.onclose = (ev) => {
      // 1008: this session logged out (in another tab); the cookie is gone.
      if (ev.code === 1008) { window.location.href = "/login"; return; }
      setConn(false, "offline, retrying…");
      retryTimer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  connect();

  // A link can die without the browser noticing (a venue Wi-Fi that keeps its address, a NAT
  // that drops the flow): the socket then looks open for minutes. A small request every
  // 1.5 s that must be answered within 2 s tells within 5 s even on a busy phone; when one is
  // not, the console says offline at once and the socket is closed, so its reconnect loop
  // takes over.
  const PROBE_EVERY = 1500;
  const PROBE_WITHIN = 2000;
  setInterval(async () => {
    if (!socketUp || document.hidden) { return; }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), PROBE_WITHIN);
    try {
      await fetch("/static/favicon.svg", { method: "HEAD", cache: "no-store", signal: abort.signal });
    } catch (_) {
      if (socketUp) {
        setConn(false, "offline, retrying…");
        if (current) { current.close(); }
      }
    } finally {
      clearTimeout(timer);
    }
  }, PROBE_EVERY);
})();
