// Corrections: "Correct" on the track on air (in the console) or on any announce of a show's
// log opens a dialog to pick the right track (or type the right text); sending it announces
// that with `corrects`, so listeners get the correction line and the wrong announce is marked
// corrected (its track counts as not announced again).
(function () {
  "use strict";

  const NTR = window.NTR;
  const dialog = document.getElementById("correct-dialog");
  if (!NTR || !NTR.dash || !dialog) { return; }

  const form = document.getElementById("correct-form");
  const select = form.elements.position;
  const text = form.elements.text;
  const error = form.querySelector(".form-error");
  let wrong = null; // { seq, showId, position, message }
  let opener = null; // the Correct button that opened the dialog
  let sent = false;

  // The announce a Correct button is about, from the log entry with its seq.
  function describe(button) {
    const seq = button.dataset.seq;
    const entry = document.querySelector('li[data-seq="' + seq + '"]');
    const section = (entry || button).closest("[data-show-id]");
    return {
      seq: Number(seq),
      showId: section ? section.dataset.showId : NTR.primaryShowId(),
      position: entry && entry.dataset.position ? Number(entry.dataset.position) : null,
      message: entry ? entry.dataset.message : "",
    };
  }

  // The tracks of the show to choose from; the one most likely meant is selected: the next
  // track, unless that is the wrong one itself.
  function fillTracks() {
    select.replaceChildren();
    const section = NTR.section(wrong.showId);
    const rows = section ? Array.from(section.querySelectorAll("tr[data-position]")) : [];
    const next = section && section.querySelector("tr.next");
    rows.forEach((row) => {
      const option = NTR.el("option", { value: row.dataset.position, "data-track-id": row.dataset.trackId },
        NTR.rowName(row) + (row.dataset.artist ? " — " + row.dataset.artist : ""));
      select.appendChild(option);
    });
    const pick = next && Number(next.dataset.position) !== wrong.position ? next
      : rows.find((r) => Number(r.dataset.position) !== wrong.position);
    if (pick) { select.value = pick.dataset.position; }
    return rows.length > 0;
  }

  function open(button) {
    opener = button;
    sent = false;
    wrong = describe(button);
    document.getElementById("correct-wrong").textContent = wrong.message || ("announce " + wrong.seq);
    const hasTracks = fillTracks();
    const isTrack = wrong.position !== null && hasTracks;
    form.elements.kind.value = isTrack ? "track" : "text";
    text.value = isTrack ? "" : wrong.message;
    error.hidden = true;
    dialog.showModal();
    (isTrack ? select : text).focus();
  }

  function body() {
    if (form.elements.kind.value === "text") {
      return { text: text.value.trim(), corrects: wrong.seq };
    }
    const chosen = select.selectedOptions[0];
    return {
      show_id: Number(wrong.showId), position: Number(select.value), corrects: wrong.seq,
      track_id: NTR.trackId(chosen),
    };
  }

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button.correct[data-seq]");
    if (button) { open(button); }
  });

  // Typing a text or choosing a track picks that kind of correction.
  text.addEventListener("input", () => { form.elements.kind.value = "text"; });
  select.addEventListener("change", () => { form.elements.kind.value = "track"; });
  form.querySelector("button[value=cancel]").addEventListener("click", () => dialog.close());

  // The keyboard goes back to the Correct button that opened the dialog: after a correction,
  // which the redraw replaces, the console's Correct (now for the right track) or the wrong
  // announce's entry in the log (its Correct button, or the entry itself).
  dialog.addEventListener("close", () => {
    const entry = 'li[data-seq="' + wrong.seq + '"]';
    const fromConsole = opener.closest("#now-next") ? ["#now-next button.correct"] : [];
    NTR.keepFocus(opener, sent ? fromConsole.concat([entry + " button.correct", entry]) : []);
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = body();
    if (payload.text === "") { error.textContent = "Type the right text, or pick a track."; error.hidden = false; return; }
    const button = form.querySelector("button[type=submit]");
    NTR.busy(button, true);
    try {
      const data = await NTR.api("POST", "/admin/announce", payload);
      sent = true;
      dialog.close();
      NTR.announced(data);
      NTR.refreshShow(wrong.showId);
    } catch (e) {
      if (NTR.playlistChanged(e)) { dialog.close(); NTR.tapFailed("Not sent", e, wrong.showId); return; }
      error.textContent = "Not sent: " + e.message;
      error.hidden = false;
    } finally {
      NTR.busy(button, false);
    }
  });
})();
