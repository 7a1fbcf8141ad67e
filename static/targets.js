// The dashboard's Targets panel, kept fresh: every few seconds it reads /admin/targets, redraws
// the panel (rendered by the server on load, with each target's last go-live alerts) and marks, under each announced track, the targets
// that failed or are retrying ("stream: 401 Unauthorized"). Successes arrive as ack frames and
// the dashboard's rows already show them ("→ #ntr, discord"). Kept apart from the dashboard's
// own scripts on purpose; when those redraw a show, the marks are drawn again from the last
// answer.
(function () {
  "use strict";

  const body = document.getElementById("targets-body");
  if (!body) { return; }
  const REFRESH_MS = 5000;

  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    return td;
  }

  function drawPanel(targets) {
    const rows = targets.map((t) => {
      const tr = document.createElement("tr");
      tr.dataset.target = t.name;
      const name = document.createElement("td");
      const strong = document.createElement("strong");
      strong.textContent = t.name;
      const kind = document.createElement("small");
      kind.className = "muted";
      kind.textContent = " " + t.kind + (t.delay_seconds > 0 ? ", " + t.delay_seconds + " s delay" : "");
      name.append(strong, kind);
      tr.append(name, cell(t.summary, t.failing ? "bad" : "ok"), alerts(t.alerts), cell(String(t.pending)), cell(String(t.failed)));
      return tr;
    });
    body.replaceChildren(...rows);
  }

  // One line per alert kind the target takes: "live: sent (85 ms after it fired)".
  function alerts(list) {
    const td = document.createElement("td");
    td.className = "alerts";
    if (!list.length) { td.append(Object.assign(document.createElement("span"), { className: "muted", textContent: "—" })); }
    list.forEach((a, i) => {
      if (i > 0) { td.append(document.createElement("br")); }
      td.append(Object.assign(document.createElement("span"), { className: a.failing ? "bad" : "ok", textContent: a.summary }));
    });
    return td;
  }

  // Under each track row: "⚠ stream: 401 Unauthorized", one line per target with a problem.
  function drawProblems(targets) {
    const bySeq = new Map();
    targets.forEach((t) => t.problems.forEach((p) => {
      const verb = p.status === "pending" ? " (retrying): " : ": ";
      const list = bySeq.get(String(p.seq)) || [];
      list.push(t.name + verb + p.last_error);
      bySeq.set(String(p.seq), list);
    }));
    document.querySelectorAll("tr[data-seq]").forEach((row) => {
      const cellEl = row.querySelector(".landed");
      if (!cellEl) { return; }
      let marks = row.querySelector(".delivery-problems");
      const list = bySeq.get(row.dataset.seq);
      if (!list) { if (marks) { marks.remove(); } return; }
      if (!marks) {
        marks = document.createElement("small");
        marks.className = "delivery-problems bad";
        cellEl.after(marks);
      }
      marks.textContent = "⚠ " + list.join(" · ");
    });
  }

  async function refresh() {
    if (document.hidden) { return; }
    try {
      const resp = await fetch("/admin/targets", { credentials: "same-origin" });
      if (!resp.ok) { return; }
      const targets = await resp.json();
      last = targets;
      drawPanel(targets);
      drawProblems(targets);
    } catch (_) { /* offline for a moment: the next round redraws */ }
  }

  let last = [];
  refresh();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener("ntr:swapped", () => drawProblems(last));
  document.addEventListener("visibilitychange", refresh);
})();
