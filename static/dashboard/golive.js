// "We're live": the console's button tells every target that takes live alerts (Mastodon,
// Bluesky, Telegram, ntfy, …) that the show started, before its first track is announced
// (which would tell them too). Once a week: the hub answers 409 after that, and says why.
(function () {
  "use strict";

  const NTR = window.NTR;
  if (!NTR || !NTR.dash) { return; }

  // The button is redrawn with the console, so one listener on the page serves every copy.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("#go-live");
    if (!button || button.disabled) { return; }
    button.disabled = true;
    try {
      const data = await NTR.api("POST", "/admin/shows/" + encodeURIComponent(button.dataset.showId) + "/live", {});
      const count = data.deliveries.length;
      NTR.toast(["Live alert sent to " + count + " target" + (count === 1 ? "" : "s"), data.message], "ok");
      const note = document.createElement("p");
      note.id = "go-live-sent";
      note.className = "go-live-sent muted";
      note.textContent = "Live alert sent";
      button.replaceWith(note);
      // The button is gone: the keyboard goes on to the next thing the DJ does.
      const next = document.getElementById("announce-next");
      if (next && !next.disabled) { next.focus({ preventScroll: true }); }
    } catch (e) {
      button.disabled = false;
      NTR.toast("We're live: " + e.message, e.status === 409 ? "warn" : "bad");
    }
  });
})();
