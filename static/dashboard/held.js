// A held announce: a show with a hold keeps each announce back for a few seconds before anyone
// sees it, so a wrong tap can be taken back in private. The toast shows the line, counts down
// to its release ("Sending in 4 s") and offers Undo; when the count ends it becomes the usual
// "Sent" toast, and the page's live connection redraws the log with the released line.
(function () {
  "use strict";

  const NTR = window.NTR;
  if (!NTR || !NTR.dash) { return; }

  function secondsLeft(releaseAt) {
    return Math.max(0, Math.ceil((Date.parse(releaseAt) - Date.now()) / 1000));
  }

  async function undo(data, timer) {
    clearInterval(timer);
    try {
      await NTR.api("DELETE", "/admin/announce/held/" + encodeURIComponent(data.held_id));
      NTR.toast(["Undone — nothing was sent", data.message], "ok", null, "announce");
    } catch (e) {
      if (e.status === 409) {
        NTR.toast(["Too late to undo: it was already sent", data.message], "warn", null, "announce");
      } else {
        NTR.toast("Undo failed: " + e.message, "bad", null, "announce");
      }
    }
  }

  // Shows a 202 {"status":"held","held_id","release_at","message"} answer until its release.
  // Each held line has its own toast: a second tap must not take the first one's Undo away.
  NTR.held = function (data) {
    let timer = null;
    const box = NTR.toast(["Held: " + data.message, ""], "warn",
      [{ label: "Undo", run: () => undo(data, timer) }], "held-" + data.held_id, true);
    box.classList.add("held");
    const count = box.querySelector(".toast-sub");
    const tick = () => {
      const left = secondsLeft(data.release_at);
      if (left > 0) { count.textContent = "Sending in " + left + " s"; return; }
      clearInterval(timer);
      if (!box.isConnected) { return; } // dismissed or replaced by a newer announce
      NTR.toast(["Sent: " + data.message, "released after the hold"], "ok", null, "announce");
      NTR.refreshAll();
    };
    timer = setInterval(tick, 250);
    tick();
    return box;
  };
})();
