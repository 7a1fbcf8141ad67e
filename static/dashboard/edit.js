// Editing a show from the dashboard: add a track (by SoundCloud link, or a record by title and
// artist), remove one (with Undo, which puts it back at the same place), move one (↑/↓ buttons,
// Alt+↑/↓ on a focused row, or drag and drop with a mouse) and mark "recording started".
// Every change goes through the hub's admin API; the live connection then redraws the show
// here and in every other open dashboard.
(function () {
  "use strict";

  const NTR = window.NTR;
  if (!NTR || !NTR.dash) { return; }

  function showIdOf(el) {
    const s = el.closest("[data-show-id]");
    return s ? s.dataset.showId : null;
  }

  function tracksPath(showId) { return "/admin/shows/" + showId + "/tracks"; }

  // --- add ---------------------------------------------------------------------------------

  function formBody(form) {
    const body = {};
    new FormData(form).forEach((value, key) => {
      const v = String(value).trim();
      if (v === "") { return; }
      body[key] = key === "position" ? Number(v) : v;
    });
    return body;
  }

  function formError(form, text) {
    const box = form.querySelector(".form-error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  document.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form.add-url, form.add-record");
    if (!form) { return; }
    ev.preventDefault();
    const showId = form.dataset.showId;
    const button = form.querySelector("button[type=submit]");
    formError(form, "");
    NTR.busy(button, true);
    const body = formBody(form);
    try {
      const show = await NTR.api("POST", tracksPath(showId), body);
      form.reset();
      const added = show.tracks[(body.position || show.tracks.length) - 1] || show.tracks[show.tracks.length - 1];
      NTR.toast("Added #" + added.position + " " + added.title + " by " + added.artist, "ok");
      NTR.refreshShow(showId);
    } catch (e) {
      formError(form, "Not added: " + e.message);
    } finally {
      NTR.busy(button, false);
    }
  });

  // --- remove and undo ---------------------------------------------------------------------

  function readd(showId, saved, asRecord) {
    const body = { position: saved.position };
    if (saved.soundcloud && !asRecord) { body.url = saved.url; }
    else {
      body.title = saved.title;
      body.artist = saved.artist;
      if (saved.url) { body.url = saved.url; }
    }
    return NTR.api("POST", tracksPath(showId), body);
  }

  async function undo(showId, saved) {
    try {
      await readd(showId, saved, false);
      NTR.toast("Put back #" + saved.position + " " + saved.title, "ok");
      NTR.refreshShow(showId);
    } catch (e) {
      const actions = saved.soundcloud
        ? [{ label: "Add it as a record", run: () => readd(showId, saved, true).then(() => NTR.refreshShow(showId)) }]
        : [];
      NTR.toast(["Undo failed: " + e.message], "bad", actions);
    }
  }

  async function remove(button) {
    const row = button.closest("tr");
    const showId = showIdOf(row);
    const saved = {
      position: Number(row.dataset.position), title: row.dataset.title, artist: row.dataset.artist,
      url: row.dataset.url, soundcloud: row.hasAttribute("data-soundcloud"),
    };
    const trackId = NTR.trackId(row);
    const query = trackId === undefined ? "" : "?track_id=" + trackId;
    NTR.busy(button, true);
    try {
      await NTR.api("DELETE", tracksPath(showId) + "/" + saved.position + query);
      NTR.toast("Removed #" + saved.position + " " + saved.title, "ok", [{ label: "Undo", run: () => undo(showId, saved) }]);
      NTR.refreshShow(showId);
    } catch (e) {
      NTR.busy(button, false);
      NTR.tapFailed("Not removed", e, showId);
    }
  }

  // --- move --------------------------------------------------------------------------------

  async function move(showId, from, to, focusClass, trackId) {
    if (to < 1 || from === to) { return; }
    try {
      await NTR.api("POST", tracksPath(showId) + "/" + from + "/move", { to: to, track_id: trackId });
      NTR.focusAfter = focusClass ? { show: showId, position: String(to), cls: focusClass } : null;
      NTR.refreshShow(showId);
    } catch (e) {
      NTR.tapFailed("Not moved", e, showId);
    }
  }

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button.move-up, button.move-down, button.remove");
    if (!button || button.disabled) { return; }
    if (button.classList.contains("remove")) { remove(button); return; }
    const from = Number(button.dataset.position);
    const up = button.classList.contains("move-up");
    move(showIdOf(button), from, up ? from - 1 : from + 1, up ? "move-up" : "move-down", NTR.trackId(button));
  });

  // Alt+↑ / Alt+↓ moves the row that has the focus (on any of its buttons or links).
  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || (ev.key !== "ArrowUp" && ev.key !== "ArrowDown")) { return; }
    const row = ev.target.closest && ev.target.closest("table.tracks tr[data-position]");
    if (!row) { return; }
    ev.preventDefault();
    const from = Number(row.dataset.position);
    const last = row.parentElement.children.length;
    const to = ev.key === "ArrowUp" ? from - 1 : from + 1;
    if (to <= last) { move(showIdOf(row), from, to, ev.target.classList[0], NTR.trackId(row)); }
  });

  // --- drag and drop (not on touch screens: there a long press would start a drag while the
  // DJ scrolls; phones use the arrows) ------------------------------------------------------

  const touchScreen = window.matchMedia("(pointer: coarse)");
  let dragged = null;

  function armDragging() {
    document.querySelectorAll("table.tracks tbody tr[data-position]").forEach((row) => {
      row.draggable = !touchScreen.matches;
    });
  }
  touchScreen.addEventListener("change", armDragging);
  armDragging();
  document.addEventListener("ntr:swapped", armDragging);

  document.addEventListener("dragstart", (ev) => {
    const row = ev.target.closest && ev.target.closest("tr[data-position]");
    if (!row) { return; }
    dragged = { show: showIdOf(row), position: Number(row.dataset.position), trackId: NTR.trackId(row) };
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", row.dataset.position);
    row.classList.add("dragging");
  });

  function dropRow(ev) {
    const row = ev.target.closest && ev.target.closest("tr[data-position]");
    return row && dragged && showIdOf(row) === dragged.show ? row : null;
  }

  document.addEventListener("dragover", (ev) => {
    const row = dropRow(ev);
    if (!row) { return; }
    ev.preventDefault();
    document.querySelectorAll("tr.drop-target").forEach((r) => r.classList.remove("drop-target"));
    row.classList.add("drop-target");
  });

  document.addEventListener("drop", (ev) => {
    const row = dropRow(ev);
    if (!row) { return; }
    ev.preventDefault();
    move(dragged.show, dragged.position, Number(row.dataset.position), null, dragged.trackId);
  });

  document.addEventListener("dragend", () => {
    dragged = null;
    document.querySelectorAll("tr.dragging, tr.drop-target").forEach((r) => r.classList.remove("dragging", "drop-target"));
  });

  // --- recording started -------------------------------------------------------------------

  document.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button.mark");
    if (!button) { return; }
    const showId = showIdOf(button);
    NTR.busy(button, true);
    try {
      await NTR.api("POST", "/admin/shows/" + showId + "/mark", {});
      NTR.toast("Recording started at " + NTR.clock(new Date()) + ": tracklist times count from now", "ok");
      NTR.refreshShow(showId);
    } catch (e) {
      NTR.toast("Not marked: " + e.message, "bad");
    } finally {
      NTR.busy(button, false);
    }
  });
})();
