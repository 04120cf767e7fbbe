// Reports written without a connection, kept on the phone (IndexedDB) until they are sent:
// shared by the service worker (which keeps them) and the pages (which send them and tell
// the citizen). A draft is the form's fields as [name, value] pairs, files included.
var AduanDrafts = (function () {
  "use strict";
  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("aduan", 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore("drafts", { keyPath: "id", autoIncrement: true });
        req.result.createObjectStore("sent", { keyPath: "id", autoIncrement: true });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function run(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode), result;
        var req = work(tx.objectStore(store));
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }
  return {
    keep: function (pairs) {
      return run("drafts", "readwrite", function (s) {
        return s.add({ pairs: pairs, kept_at: new Date().toISOString() });
      });
    },
    drafts: function () { return run("drafts", "readonly", function (s) { return s.getAll(); }); },
    drop: function (id) { return run("drafts", "readwrite", function (s) { return s.delete(id); }); },
    update: function (draft) { return run("drafts", "readwrite", function (s) { return s.put(draft); }); },
    sent: function (row) { return run("sent", "readwrite", function (s) { return s.add(row); }); },
    told: function () { return run("sent", "readonly", function (s) { return s.getAll(); }); },
    forget: function (id) { return run("sent", "readwrite", function (s) { return s.delete(id); }); }
  };
})();
