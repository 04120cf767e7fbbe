// Aduan's service worker: the site can be added to the home screen and opens without a
// connection; a report sent while offline is kept on the phone (drafts.js) and the page
// says so; the pages send it when the connection returns (app.js) and say which happened.
// Personal pages (tracking, accounts) are never cached.
importScripts("/static/drafts.js");
var CACHE = "aduan-v1";
var SHELL = ["/", "/lapor", "/tersimpan", "/static/app.js", "/static/drafts.js",
  "/static/icon-192.png", "/static/icon-512.png", "/manifest.webmanifest"];
var PAGES = ["/", "/lapor", "/tersimpan"];

function keepAreas(cache) {
  // Every province's regencies, so that the form's pickers work offline (districts are
  // kept as they are opened).
  return fetch("/v1/areas/00").then(function (r) { return r.json(); }).then(function (rows) {
    return cache.add("/v1/areas/00").then(function () {
      return cache.addAll(rows.map(function (p) { return "/v1/areas/" + p.code; }));
    });
  }).catch(function () { /* the form still works online */ });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) {
    return c.addAll(SHELL).then(function () { return keepAreas(c); });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepOffline(request) {
  return request.formData().then(function (form) {
    var pairs = [];
    form.forEach(function (value, name) { pairs.push([name, value]); });
    return AduanDrafts.keep(pairs);
  }).then(function () {
    return caches.match("/tersimpan").then(function (page) {
      return page || new Response("Tersimpan di ponsel / kept on this phone", {
        headers: { "Content-Type": "text/plain; charset=utf-8" } });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (request.method === "POST" && url.pathname === "/lapor" &&
      !request.headers.get("X-Aduan-Draft")) {
    // Sent as usual; without a connection, kept here and said so.
    var copy = request.clone();
    event.respondWith(fetch(request).catch(function () { return keepOffline(copy); }));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && PAGES.indexOf(url.pathname) >= 0) {
    // The newest page when online (kept for next time), the kept one when not.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var kept = response.clone();
        caches.open(CACHE).then(function (c) { c.put(url.pathname, kept); });
      }
      return response;
    }).catch(function () {
      return caches.match(url.pathname);
    }));
    return;
  }
  if (/^\/v1\/areas\/[0-9.]+$/.test(url.pathname)) {
    // Reference lists: the network's when it answers (kept), the kept ones when not.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var kept = response.clone();
        caches.open(CACHE).then(function (c) { c.put(request, kept); });
      }
      return response;
    }).catch(function () { return caches.match(request); }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/vendor/") === 0) {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(request, { ignoreSearch: true });
    }));
  }
});
