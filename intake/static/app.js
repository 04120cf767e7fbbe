// Every citizen page: install the service worker (Aduan on the home screen, reports kept
// while offline), send the reports kept on this phone once there is a connection, and
// tell the citizen which happened: sent (with the number and code), waiting, or to be
// finished in the form.
(function () {
  "use strict";
  var box = document.getElementById("drafts");
  if (!box || !("serviceWorker" in navigator) || !window.indexedDB) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  var words = box.dataset;

  function note(id, build) {
    var old = document.getElementById(id);
    if (old) old.remove();
    var div = document.createElement("div");
    div.id = id;
    div.className = "notice";
    build(div);
    box.appendChild(div);
    box.hidden = false;
  }

  function tellSent() {
    return AduanDrafts.told().then(function (rows) {
      rows.forEach(function (row) {
        note("sent-" + row.id, function (div) {
          var p = document.createElement("p");
          p.textContent = words.sent + ": #" + row.number;
          p.className = "draft-sent";
          div.appendChild(p);
          if (row.secret) {
            var code = document.createElement("code");
            code.className = "secret";
            code.textContent = row.secret;
            var line = document.createElement("p");
            line.appendChild(code);
            div.appendChild(line);
          }
          var open = document.createElement("a");
          open.href = row.link;
          open.textContent = words.open;
          open.className = "button";
          var done = document.createElement("button");
          done.type = "button";
          done.textContent = words.noted;
          done.addEventListener("click", function () {
            AduanDrafts.forget(row.id).then(function () { div.remove(); });
          });
          var actions = document.createElement("p");
          actions.className = "actions";
          actions.appendChild(open);
          actions.appendChild(document.createTextNode(" "));
          actions.appendChild(done);
          div.appendChild(actions);
        });
      });
    });
  }

  function read(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var number = doc.getElementById("tracking-number"), secret = doc.getElementById("secret");
    var link = doc.getElementById("link");
    return {
      number: number ? number.textContent.replace("#", "").trim() : "",
      secret: secret ? secret.textContent.trim() : "",
      link: link ? link.getAttribute("href") : "/lacak"
    };
  }

  function send(draft) {
    var form = new FormData();
    draft.pairs.forEach(function (pair) { form.append(pair[0], pair[1]); });
    if (!form.has("draft_key")) form.append("draft_key", draft.key);
    return fetch("/lapor", {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "X-Aduan-Draft": "1" }
    }).then(function (r) {
      if (r.status === 201) {
        return r.text().then(function (html) {
          var row = read(html);
          return AduanDrafts.sent(row).then(function () { return AduanDrafts.drop(draft.id); });
        });
      }
      if (r.status === 422 || r.status === 403 || r.status === 400) {
        draft.problem = true;  // a person must finish it: the form takes it back
        return AduanDrafts.update(draft);
      }
      // 429, 5xx: try again later.
    });
  }

  function flush() {
    return AduanDrafts.drafts().then(function (drafts) {
      var chain = Promise.resolve();
      drafts.forEach(function (draft) {
        if (!draft.key) {
          draft.key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
          chain = chain.then(function () { return AduanDrafts.update(draft); });
        }
        if (!draft.problem && navigator.onLine) {
          chain = chain.then(function () { return send(draft); }).catch(function () {});
        }
      });
      return chain.then(function () { return AduanDrafts.drafts(); });
    }).then(function (left) {
      var waiting = left.filter(function (d) { return !d.problem; }).length;
      var problems = left.filter(function (d) { return d.problem; });
      var old = document.getElementById("drafts-waiting");
      if (old) old.remove();
      if (waiting) {
        note("drafts-waiting", function (div) {
          div.textContent = words.waiting + ": " + waiting;
        });
      }
      problems.forEach(function (d) {
        note("draft-fix-" + d.id, function (div) {
          var a = document.createElement("a");
          a.href = "/lapor?draf=" + d.id;
          a.textContent = words.fix;
          div.appendChild(a);
        });
      });
    }).then(tellSent);
  }

  function restore() {
    // /lapor?draf=N: a kept report a person must finish goes back into the form, by the
    // form's own way back (step=areas): the server shows it filled, its areas listed and
    // its files held.
    var id = Number(new URLSearchParams(location.search).get("draf"));
    if (!id || !document.getElementById("report")) return Promise.resolve(false);
    return AduanDrafts.drafts().then(function (drafts) {
      var draft = drafts.filter(function (d) { return d.id === id; })[0];
      if (!draft) return false;
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/lapor";
      form.enctype = "multipart/form-data";
      form.hidden = true;
      var files = new DataTransfer();
      var csrf = document.querySelector("#report input[name=csrf]");
      draft.pairs.forEach(function (pair) {
        if (pair[1] instanceof File) {
          if (pair[1].size) files.items.add(pair[1]);
          return;
        }
        if (pair[0] === "csrf" || pair[0] === "step") return;
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      [["csrf", csrf ? csrf.value : ""], ["step", "areas"]].forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      var upload = document.createElement("input");
      upload.type = "file";
      upload.name = "lampiran";
      upload.multiple = true;
      upload.files = files.files;
      form.appendChild(upload);
      document.body.appendChild(form);
      return AduanDrafts.drop(draft.id).then(function () { form.submit(); return true; });
    });
  }

  window.addEventListener("online", function () { flush().catch(function () {}); });
  restore().then(function (moving) { if (!moving) return flush(); }).catch(function () {});
})();
