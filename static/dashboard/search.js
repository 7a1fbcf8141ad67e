// The console's search field: any track of this week's or last week's show in two keystrokes
// and Enter. It searches the rows already on the page (both weeks are drawn), by title and
// artist, ignoring case and accents ("ub" finds "Über"), and lists them in a listbox the arrow
// keys move through; Enter announces the selected track exactly as its row's Announce button
// would (its own key, the send queue, a question before announcing a track again). "/" jumps
// to the field.
(function () {
  "use strict";

  const NTR = window.NTR;
  const input = document.getElementById("search");
  const list = document.getElementById("search-results");
  if (!NTR || !NTR.dash || !input || !list) { return; }

  const MIN_CHARS = 2;
  const MAX_RESULTS = 8;
  let results = [];
  let active = -1;

  // Decomposes letters and drops their marks, so "Ü" and "u" compare equal.
  function fold(text) {
    return (text || "").normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase();
  }

  function matches(query) {
    const rows = document.querySelectorAll("section.show[data-show-id] tbody tr[data-position]");
    return Array.from(rows).filter((row) =>
      fold(row.dataset.title).includes(query) || fold(row.dataset.artist).includes(query),
    ).slice(0, MAX_RESULTS);
  }

  function optionText(row) {
    const section = row.closest("section.show");
    const week = section.hasAttribute("data-primary") ? "" : " (last week)";
    const artist = row.dataset.artist ? " — " + row.dataset.artist : "";
    const again = row.classList.contains("announced") ? " · announced" : "";
    return NTR.rowName(row) + artist + week + again;
  }

  function select(index) {
    active = index;
    Array.from(list.children).forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    const chosen = list.children[index];
    if (chosen) {
      input.setAttribute("aria-activedescendant", chosen.id);
      chosen.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function close() {
    results = [];
    list.replaceChildren();
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    select(-1);
  }

  function update() {
    const query = fold(input.value.trim());
    if (query.length < MIN_CHARS) { close(); return; }
    results = matches(query);
    list.replaceChildren(...results.map((row, i) => {
      const li = NTR.el("li", { id: "search-option-" + i, role: "option", "aria-selected": "false" }, optionText(row));
      li.addEventListener("mousedown", (ev) => ev.preventDefault()); // keep the focus in the field
      li.addEventListener("click", () => choose(i));
      return li;
    }));
    if (!results.length) {
      list.appendChild(NTR.el("li", { class: "search-none", role: "option", "aria-disabled": "true" }, "No track matches"));
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    // The first match is selected at once: "three letters and Enter".
    select(results.length ? 0 : -1);
  }

  function choose(index) {
    const row = results[index];
    if (!row) { return; }
    const showId = row.closest("section.show").dataset.showId;
    input.value = "";
    close();
    NTR.announceTrack(showId, Number(row.dataset.position), NTR.trackId(row), null);
  }

  input.addEventListener("input", update);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && results.length) {
      ev.preventDefault();
      select((active + 1) % results.length);
    } else if (ev.key === "ArrowUp" && results.length) {
      ev.preventDefault();
      select((active - 1 + results.length) % results.length);
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      choose(active);
    } else if (ev.key === "Escape" && !list.hidden) {
      ev.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", close);

  // "/" from anywhere but a field jumps to the search, its old query selected to type over.
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey || NTR.typing(ev.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    ev.preventDefault();
    input.focus();
    input.select();
  });
  close();
})();
