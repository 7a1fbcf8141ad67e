// The public pages' live parts: "Now playing", the tracklists and the playlists follow the hub's
// Server-Sent Events (/events), the on-air badge and the countdown follow the clock. Without this
// script the page still shows everything as of when it was loaded. A show's page (data-show on
// #now) shows only that show's lines: it asks /events for them (data-stream-show) and also drops
// other shows' frames itself; the station page streams every show and keeps its tracklists of
// all of them up to date, while "Now playing" follows the show it leads with.
(function () {
  "use strict";

  const now = document.getElementById("now");
  const next = document.getElementById("next");
  if (!now || !next) { return; }
  const show = now.dataset.show || null;
  const query = show ? "?show=" + encodeURIComponent(show) : "";

  // A frame of another show; a station-wide one (show null) is everyone's.
  function otherShow(frame) {
    return show !== null && typeof frame.show === "string" && frame.show !== show;
  }

  function safeUrl(url) {
    return /^https?:\/\//i.test(url || "") ? url : null;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs).forEach((k) => node.setAttribute(k, attrs[k]));
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // Times are shown in the show's zone and labelled with it, as the server draws them.
  function clockIn(iso) {
    try {
      const fmt = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: now.dataset.tz });
      return fmt.format(new Date(iso)) + " " + now.dataset.zone;
    } catch (_) {
      return new Date(iso).toISOString().slice(11, 16) + " UTC";
    }
  }

  function showTrack(frame) {
    const track = frame.track;
    const line = document.getElementById("np-track");
    line.replaceChildren();
    const url = safeUrl(track.permalink_url);
    line.appendChild(url
      ? el("a", { id: "np-title", href: url, rel: "noopener noreferrer" }, track.title)
      : el("span", { id: "np-title" }, track.title));
    if (track.artist) {
      const by = el("span", { id: "np-by", class: "np-by" }, " by ");
      by.appendChild(el("span", { id: "np-artist" }, track.artist));
      line.appendChild(by);
    }
    document.getElementById("np-at").textContent = "Announced " + clockIn(frame.announced_at);
    line.classList.remove("fresh");
    void line.offsetWidth; // restart the highlight
    line.classList.add("fresh");
  }

  async function refreshNowPlaying() {
    try {
      const resp = await fetch("/nowplaying.json" + query, { cache: "no-store" });
      const data = await resp.json();
      if (data.now_playing) {
        showTrack({
          track: { title: data.now_playing.title, artist: data.now_playing.artist, permalink_url: data.now_playing.url },
          announced_at: data.now_playing.announced_at,
        });
      }
    } catch (_) { /* keep what is shown */ }
  }

  async function refreshTracklist(showId) {
    const box = document.querySelector('details.tracklist[data-show-id="' + showId + '"]');
    if (!box) { return; }
    try {
      const resp = await fetch("/shows/" + showId + "/tracklist?format=json", { cache: "no-store" });
      const rows = await resp.json();
      const list = box.querySelector(".lines");
      list.replaceChildren();
      rows.forEach((row) => {
        const li = el("li", {});
        li.appendChild(el("time", {}, clock(row.offset_seconds)));
        li.appendChild(document.createTextNode(" "));
        const label = row.artist ? row.artist + " - " + row.title : row.title;
        const url = safeUrl(row.url);
        li.appendChild(url ? el("a", { href: url, rel: "noopener noreferrer" }, label) : el("span", {}, label));
        list.appendChild(li);
      });
      box.querySelector(".count").textContent = rows.length + (rows.length === 1 ? " track" : " tracks");
      box.querySelector(".empty").hidden = rows.length > 0;
    } catch (_) { /* keep what is shown */ }
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  function clock(seconds) {
    const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : pad(m) + ":" + pad(s);
  }

  function onAnnounce(event) {
    let frame;
    try { frame = JSON.parse(event.data); } catch (_) { return; }
    if (otherShow(frame)) {
      // Not this show's line: only a tracklist the page lists of it may change.
      if (frame.show_id !== null) { refreshTracklist(frame.show_id); }
      return;
    }
    if (frame.track && frame.position !== null) {
      showTrack(frame);
    } else {
      // A free text, or a correction that withdrew a track: ask what stands now.
      refreshNowPlaying();
    }
    if (frame.corrects !== null && frame.corrects !== undefined) {
      // The corrected announce may belong to any listed show (a free-text correction names
      // none): redraw them all; corrections are rare.
      document.querySelectorAll("details.tracklist").forEach((d) => refreshTracklist(d.dataset.showId));
    } else if (frame.show_id !== null) {
      refreshTracklist(frame.show_id);
    }
  }

  // A show's playlist changed (an edit, a poll): read the page again and swap in its shows.
  async function refreshShows() {
    try {
      const resp = await fetch(window.location.pathname, { cache: "no-store" });
      const page = new DOMParser().parseFromString(await resp.text(), "text/html");
      page.querySelectorAll("section.show[data-show-id]").forEach((fresh) => {
        const old = document.querySelector('section.show[data-show-id="' + fresh.dataset.showId + '"]');
        if (old) { old.replaceWith(document.importNode(fresh, true)); }
      });
    } catch (_) { /* keep what is shown */ }
  }

  function connect() {
    const since = now.dataset.lastSeq || "0";
    const only = now.dataset.streamShow ? "&show=" + encodeURIComponent(now.dataset.streamShow) : "";
    const source = new EventSource("/events?since=" + encodeURIComponent(since) + only);
    source.addEventListener("announce", onAnnounce);
    source.addEventListener("show_changed", refreshShows);
    // EventSource reconnects by itself and sends Last-Event-ID, so no announce is missed;
    // playlist changes are not replayed, so a reconnect redraws the shows.
    let opened = false;
    source.addEventListener("open", () => {
      if (opened) { refreshShows(); }
      opened = true;
    });
  }

  const countdown = document.getElementById("countdown");
  const badge = document.getElementById("on-air");

  function tick() {
    const t = Date.now();
    const start = Date.parse(next.dataset.start);
    const until = next.dataset.liveUntil ? Date.parse(next.dataset.liveUntil) : NaN;
    const liveMs = Number(next.dataset.liveMinutes) * 60000;
    const live = (t < until) || (t >= start && t < start + liveMs);
    badge.hidden = !live;
    let left = Math.max(0, Math.floor((start - t) / 1000));
    if (left === 0) {
      countdown.textContent = "(starting now)";
      return;
    }
    const d = Math.floor(left / 86400);
    left %= 86400;
    const text = (d > 0 ? d + (d === 1 ? " day " : " days ") : "") +
      pad(Math.floor(left / 3600)) + ":" + pad(Math.floor(left / 60) % 60) + ":" + pad(left % 60);
    countdown.textContent = "(in " + text + ")";
  }

  tick();
  setInterval(tick, 1000);
  if (window.EventSource) { connect(); }
}());
