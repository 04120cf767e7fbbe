// The public reports on a map: one marker per report with a map point (never an Anonim
// report's), each opening its public page. The list below holds the same reports.
(function () {
  "use strict";
  var box = document.getElementById("reports-map");
  if (!window.L || !box || !box.dataset.tiles) return;
  var points = JSON.parse(box.dataset.points || "[]");
  box.hidden = false;
  var map = L.map(box).setView([-2.5, 118], 4);
  L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.credit }).addTo(map);
  map.attributionControl.setPrefix(false);
  var bounds = [];
  points.forEach(function (p) {
    var link = document.createElement("a");
    link.href = "/laporan/" + p.tn;
    link.textContent = "#" + p.tn + " " + p.title;
    var body = document.createElement("div");
    body.appendChild(link);
    body.appendChild(document.createElement("br"));
    body.appendChild(document.createTextNode(p.status));
    L.marker([p.lat, p.lon], { title: "#" + p.tn + " " + p.title, alt: "#" + p.tn })
      .bindPopup(body).addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length === 1) map.setView(bounds[0], 15);
  else if (bounds.length > 1) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
})();
