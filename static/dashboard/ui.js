// Shared helpers of the dashboard's scripts (window.NTR): the show's clock, toasts, JSON calls
// to the hub and small DOM helpers. Loaded first; the other dashboard scripts build on it.
// No inline script or style anywhere: everything here works under a strict CSP.
(function () {
  "use strict";

  const dash = document.getElementById("dash");
  const toasts = document.getElementById("toasts");
  const NTR = (window.NTR = { dash: dash });

  // Every time is drawn on the show's clock and labelled with its zone ("22:41:07 New York"),
  // never in the browser's own zone.
  const tz = (dash && dash.dataset.tz) || "UTC";
  const zone = (dash && dash.dataset.zone) || "UTC";
  let timeFormat;
  try {
    timeFormat = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: tz,
    });
  } catch (_) {
    timeFormat = null; // an unknown zone: say UTC rather than draw local time unlabelled
  }
  NTR.clock = function (when) {
    const d = when instanceof Date ? when : new Date(when);
    if (!timeFormat) { return d.toISOString().slice(11, 19) + " UTC"; }
    return timeFormat.format(d) + " " + zone;
  };

  NTR.el = function (tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => node.setAttribute(k, attrs[k]));
    if (text !== undefined) { node.textContent = text; }
    return node;
  };

  const MAX_TOASTS = 3;
  const LIFETIME = { ok: 6000, warn: 12000, bad: 12000 };

  // A toast: `lines` are strings; `actions` are {label, run} buttons (e.g. Undo). Toasts sit in
  // the console under the Announce button, in the page's flow, so they never cover a button. A
  // toast of a `group` replaces the older one of that group (only the last announce matters).
  // `stay` keeps it until removed by its owner (a held announce counting down).
  NTR.toast = function (lines, kind, actions, group, stay) {
    kind = kind || "ok";
    const box = NTR.el("div", { class: "toast " + kind, role: kind === "ok" ? "status" : "alert" });
    if (group) {
      toasts.querySelectorAll('.toast[data-group="' + group + '"]').forEach((old) => old.remove());
      box.dataset.group = group;
    }
    [].concat(lines).forEach((line, i) => {
      box.appendChild(NTR.el(i === 0 ? "p" : "small", { class: i === 0 ? "toast-main" : "toast-sub" }, line));
    });
    if (actions && actions.length) {
      const row = NTR.el("span", { class: "toast-actions" });
      actions.forEach((a) => {
        const b = NTR.el("button", { type: "button", class: "secondary small" }, a.label);
        b.addEventListener("click", () => { box.remove(); a.run(); });
        row.appendChild(b);
      });
      box.appendChild(row);
    }
    const close = NTR.el("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
    close.addEventListener("click", () => box.remove());
    box.appendChild(close);
    toasts.prepend(box);
    while (toasts.children.length > MAX_TOASTS) { toasts.lastElementChild.remove(); }
    if (!stay) { setTimeout(() => box.remove(), LIFETIME[kind] + (actions ? 4000 : 0)); }
    return box;
  };

  // A JSON call to the hub with the session cookie; rejects with the hub's own error text.
  // `opts.headers` adds headers (an announce's Idempotency-Key); `opts.timeout` (ms) gives up
  // on a hub that does not answer. A failure that never reached an answer carries no status.
  NTR.api = async function (method, path, body, opts) {
    opts = opts || {};
    const init = { method: method, credentials: "same-origin", headers: Object.assign({}, opts.headers) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const abort = opts.timeout ? new AbortController() : null;
    const timer = abort ? setTimeout(() => abort.abort(), opts.timeout) : null;
    if (abort) { init.signal = abort.signal; }
    let resp;
    let data = null;
    try {
      resp = await fetch(path, init);
      try { data = await resp.json(); } catch (_) { /* not JSON: the status says enough */ }
    } catch (e) {
      const err = new Error(abort && abort.signal.aborted ? "no answer in time" : "the hub cannot be reached");
      err.network = true;
      throw err;
    } finally {
      if (timer) { clearTimeout(timer); }
    }
    if (resp.status === 401) { window.location.href = "/login"; }
    if (!resp.ok) {
      const err = new Error((data && data.error) || ("HTTP " + resp.status));
      err.status = resp.status;
      throw err;
    }
    return data;
  };

  // A fresh random key (a UUID), also on a page served over plain http on a LAN address, where
  // crypto.randomUUID is missing (it needs a secure context; getRandomValues does not).
  NTR.newKey = function () {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  };

  // The id of the track a button or row is about (the API's `track_id`: 0 for a record), so
  // the hub refuses a tap that would land on another track after a poll shifted the list.
  NTR.trackId = function (el) {
    const holder = el && el.closest("[data-track-id]");
    return holder ? Number(holder.dataset.trackId) : undefined;
  };

  // A 409 whose cause is a playlist that changed under the page; other 409s (an announce that
  // can no longer be corrected) are plain errors.
  NTR.playlistChanged = function (e) {
    return e.status === 409 && / \(the playlist changed\); reload$/.test(e.message);
  };

  // A failed tap: when the playlist changed under the page (nothing was done), say so plainly
  // and redraw the show at once; anything else is shown as the hub's error.
  NTR.tapFailed = function (what, e, showId) {
    if (NTR.playlistChanged(e)) {
      NTR.toast([what + ": the playlist changed since this page showed it — nothing was done",
        NTR.capital(e.message.replace(/ \(the playlist changed\); reload$/, "")) +
          ". The list is redrawn: check it and tap again."],
        "warn");
      NTR.refreshShow(showId);
      return;
    }
    NTR.toast(what + ": " + e.message, "bad");
  };

  NTR.busy = function (button, on) {
    if (!button) { return; }
    if (on) { button.setAttribute("aria-busy", "true"); } else { button.removeAttribute("aria-busy"); }
    button.disabled = on;
  };

  NTR.section = function (showId) {
    return document.querySelector('section.show[data-show-id="' + showId + '"]');
  };

  NTR.row = function (showId, position) {
    const section = NTR.section(showId);
    return section && section.querySelector('tr[data-position="' + position + '"]');
  };

  // "#5 Title" for messages about a row.
  NTR.rowName = function (row) {
    return "#" + row.dataset.position + " " + (row.dataset.title || "");
  };

  NTR.capital = function (text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  };

  NTR.plural = function (n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  };
})();
