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
    // No role of its own: the toasts' box is the page's one live region, which reads it out.
    const box = NTR.el("div", { class: "toast " + kind });
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

  // A button that is busy is disabled, which takes the keyboard focus from it: it gets the
  // focus back when it is enabled again, unless the DJ has moved on meanwhile.
  let busyFocus = null;
  NTR.busy = function (button, on) {
    if (!button) { return; }
    if (on) { button.setAttribute("aria-busy", "true"); } else { button.removeAttribute("aria-busy"); }
    if (on && document.activeElement === button) { busyFocus = button; }
    button.disabled = on;
    if (!on && busyFocus === button) {
      busyFocus = null;
      if (button.isConnected && lostFocus()) { focusInSight(button); }
    }
  };

  // Focuses `el`, scrolling only if it is out of sight: the sticky console is always in sight,
  // and a page that jumped under the DJ's thumb after a tap would be worse than none.
  function focusInSight(el) {
    const r = el.getBoundingClientRect();
    el.focus({ preventScroll: r.top >= 0 && r.bottom <= window.innerHeight });
  }

  // Whether the keyboard focus is nowhere the DJ put it: on the page itself, or on an element
  // a tap disabled or a redraw removed.
  function lostFocus() {
    const el = document.activeElement;
    return !el || el === document.body || !el.isConnected || el.disabled === true;
  }

  // Keeps the keyboard where the DJ is across a tap on `el` that redraws the page (an
  // announce, a correction): for ten seconds (a redraw on a slow phone can take a while),
  // after each redraw the focus goes to the first of `selectors` that is on the page and
  // usable, else back to `el` (or to what had the focus when the tap was made) as found again
  // by id or data attributes: a redraw replaces them. A DJ who has moved the focus elsewhere
  // meanwhile is left there.
  const KEEP_FOCUS_FOR = 10000;
  let keep = null;
  NTR.keepFocus = function (el, selectors) {
    const from = lostFocus() ? [] : [keyOf(document.activeElement)];
    keep = { keys: [keyOf(el)].concat(from), selectors: [].concat(selectors || []), until: Date.now() + KEEP_FOCUS_FOR };
    if (lostFocus()) { settleFocus(); }
  };

  function keyOf(el) {
    const section = el && el.closest("section.show[data-show-id]");
    return {
      id: (el && el.id) || null, cls: (el && el.classList[0]) || null, tag: el ? el.tagName : null,
      seq: el ? el.dataset.seq : undefined, position: el ? el.dataset.position : undefined,
      show: section ? section.dataset.showId : null,
    };
  }

  // The element `key` describes, in the page as it is now.
  function findKey(key) {
    if (key.id) { return document.getElementById(key.id); }
    if (!key.tag) { return null; }
    let css = key.tag.toLowerCase() + (key.cls ? "." + key.cls : "");
    if (key.seq !== undefined) { css += '[data-seq="' + key.seq + '"]'; }
    if (key.position !== undefined) { css += '[data-position="' + key.position + '"]'; }
    // Both weeks of a show have rows of the same positions: look in the one it was in.
    const scope = key.show ? NTR.section(key.show) : document;
    return scope && scope.querySelector(css);
  }

  function usable(el) {
    return !!el && el.isConnected && !el.disabled && el.getClientRects().length > 0 && !el.closest("dialog:not([open])");
  }

  function wantedNow() {
    return keep.selectors.map((css) => document.querySelector(css)).concat(keep.keys.map(findKey));
  }

  // Focus moved to something else (Tab, a click, a dialog opening): the DJ has moved on.
  document.addEventListener("focusin", (ev) => {
    if (keep && !wantedNow().includes(ev.target)) { keep = null; }
  });

  function settleFocus() {
    if (!keep || document.querySelector("dialog[open]")) { return; }
    if (Date.now() > keep.until) { keep = null; return; }
    const wanted = wantedNow();
    const active = document.activeElement;
    if (!lostFocus() && !wanted.includes(active)) { keep = null; return; }
    const target = wanted.find(usable);
    if (!target || target === active) { return; }
    // A log entry is not a control: it takes the focus only when a script gives it.
    if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    focusInSight(target);
  }
  document.addEventListener("ntr:swapped", settleFocus);

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
