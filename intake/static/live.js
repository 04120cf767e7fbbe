// The tracking and confirmation pages follow their report: every 15 s (while the page is
// shown) they ask /lacak/<n>/keadaan whether the report moved, with the version they hold
// (304: nothing new). When it moved, the status and what happens next change in place and
// a polite live region says so; the tracking page also takes the new history from the
// page itself. docs/decisions/0015-live-status-by-polling.md says why polling.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var url = live.dataset.live, version = live.dataset.version;
  var every = 15000, timer = null, busy = false;

  function typing() {
    var fields = document.querySelectorAll("#actions textarea, #actions input[type=file]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) return true;
    }
    return false;
  }

  function swap(doc, id) {
    var fresh = doc.getElementById(id), old = document.getElementById(id);
    if (fresh && old) old.replaceWith(fresh);
  }

  function refreshPage() {
    // The tracking page is a GET: read it again and take its moving parts.
    return fetch(location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(doc, "summary");
        swap(doc, "history");
        var fresh = doc.getElementById("actions"), old = document.getElementById("actions");
        if (fresh && old && fresh.innerHTML !== old.innerHTML) {
          if (typing()) {
            live.textContent = live.dataset.reload;
          } else {
            old.replaceWith(fresh);
          }
        }
      });
  }

  function apply(data) {
    var status = document.getElementById("status");
    var moved = !status || status.dataset.status !== data.status;
    if (status) {
      status.textContent = data.label;
      status.dataset.status = data.status;
    }
    var next = document.getElementById("next-text");
    if (next) next.textContent = data.next;
    var due = document.getElementById("due-text");
    if (due) {
      due.textContent = data.due_local || "";
      due.parentNode.hidden = !data.due_local;
    }
    if (moved) live.textContent = live.dataset.changed + " " + data.label + ".";
    if (document.getElementById("history")) return refreshPage();
  }

  function poll() {
    timer = null;
    if (document.hidden || busy) return schedule();
    busy = true;
    fetch(url, { cache: "no-store", headers: { "If-None-Match": '"' + version + '"' } })
      .then(function (r) {
        if (r.status === 200) return r.json();
        return null;
      })
      .then(function (data) {
        if (data && data.version !== version) {
          version = data.version;
          return apply(data);
        }
      })
      .catch(function () { /* offline for a moment: try again at the next turn */ })
      .then(function () { busy = false; schedule(); });
  }

  function schedule() {
    if (timer === null) timer = setTimeout(poll, every);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      clearTimeout(timer);
      timer = null;
      poll();
    }
  });
  if (live.dataset.every) every = Number(live.dataset.every) * 1000;
  schedule();
})();
