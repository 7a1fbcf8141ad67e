// The dashboard's relay panel: redraws each relay's card from `relays` frames (which the
// dashboard's live.js passes on as "ntr:message" events) and shows the red banner during the live window when no
// relay can get a line to IRC. The server renders the same cards and banner first, so the
// page is right before any frame arrives; the rules here match hub/src/relays/panel.rs.
(function () {
  "use strict";

  const list = document.getElementById("relay-list");
  const banner = document.getElementById("relay-banner");
  const bannerText = document.getElementById("relay-banner-text");
  if (!list || !banner || !bannerText) { return; }

  const liveStart = Number(banner.dataset.liveStart);
  const liveEnd = Number(banner.dataset.liveEnd);

  function delivering(r) {
    return r.connected && (r.status === null ||
      (r.status.irc === "connected" && r.status.channels.length > 0));
  }

  function bannerFor(relays) {
    if (relays.some(delivering)) { return ""; }
    const relay = relays.find((r) => r.connected);
    if (!relay) { return "No relay is connected — announces will not reach IRC"; }
    const nick = (relay.status && relay.status.nick) || relay.name;
    const place = relay.last_ack ? "in " + relay.last_ack.target : "on IRC";
    return nick + " is not " + place + " — announces will not reach IRC";
  }

  // On the show's clock and labelled with its zone, as the server draws it (never the
  // browser's own zone).
  function time(iso) {
    return window.NTR.clock(iso);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function fact(label, value, className) {
    const li = el("li", className);
    li.appendChild(el("span", "label", label));
    li.appendChild(document.createTextNode(" "));
    if (typeof value === "string") { li.appendChild(document.createTextNode(value)); }
    else { value.forEach((part) => li.appendChild(part)); }
    return li;
  }

  function facts(r) {
    const out = [];
    const s = r.status;
    if (s) {
      out.push(fact("IRC", [el("span", "irc-" + s.irc, s.irc),
        document.createTextNode(" · " + s.server + " as " + s.nick)]));
      out.push(fact("Channels", s.channels.length ? s.channels.join(", ") : "none"));
      out.push(fact("Queued", s.queued + (s.queued === 1 ? " line" : " lines")));
    } else {
      out.push(fact("IRC", r.connected ? "no details (an older bot plugin)" : "unknown"));
    }
    const a = r.last_ack;
    out.push(fact("Last ack", a
      ? "#" + a.seq + " → " + a.target + " at " + time(a.at) + " (" + a.lag_ms + " ms)"
      : "none yet"));
    if (s && s.error) { out.push(fact("Error", s.error, "error")); }
    if (s && s.version) { out.push(fact("Version", s.version, "muted")); }
    return out;
  }

  function card(r) {
    const ok = delivering(r);
    const article = el("article", "relay " + (ok ? "ok" : "bad"));
    article.dataset.name = r.name;
    article.dataset.delivering = String(ok);
    const header = el("header");
    header.appendChild(el("strong", "relay-name", r.name));
    header.appendChild(el("span", "relay-conn", r.connected
      ? "connected since " + time(r.connected_since) + " from " + r.address
      : "not connected"));
    article.appendChild(header);
    const ul = el("ul", "relay-facts");
    facts(r).forEach((li) => ul.appendChild(li));
    article.appendChild(ul);
    return article;
  }

  // The last known banner text; the server's until the first frame.
  let text = bannerText.textContent;

  function showBanner() {
    const now = Date.now();
    const live = now >= liveStart && now < liveEnd;
    bannerText.textContent = text;
    banner.hidden = !(live && text);
  }

  function redraw(relays) {
    list.replaceChildren(...relays.map(card));
    text = bannerFor(relays);
    showBanner();
  }

  document.addEventListener("ntr:message", (ev) => {
    const m = ev.detail;
    if (m && m.type === "relays" && Array.isArray(m.relays)) { redraw(m.relays); }
  });
  // The live window opens and closes while the page stays open.
  setInterval(showBanner, 15000);
})();
