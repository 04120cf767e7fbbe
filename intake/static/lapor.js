// The report form: the category says what its report must tell; the province, regency
// and district pickers fill from the Kemendagri areas; the map (Leaflet, served by the
// site itself) takes a pin that fills the point and, through /v1/areas/at, the areas.
// Without JavaScript the form works as it is (the pickers come back filled by the server).
(function () {
  "use strict";
  var cat = document.getElementById("category"), needs = document.getElementById("needs");
  cat.addEventListener("change", function () {
    var opt = cat.options[cat.selectedIndex];
    needs.hidden = !opt.dataset.needs;
    needs.querySelector("span").textContent = opt.dataset.needs || "";
  });
  var prov = document.getElementById("province"), reg = document.getElementById("regency_code"),
      dist = document.getElementById("district_code");
  var noscript = document.getElementById("show-areas");
  if (noscript) noscript.remove();

  function fill(select, code) {
    select.length = 1;
    if (!code) return Promise.resolve();
    return fetch("/v1/areas/" + code).then(function (r) { return r.json(); }).then(function (rows) {
      rows.forEach(function (a) { select.add(new Option(a.name, a.code)); });
    });
  }
  prov.addEventListener("change", function () { dist.length = 1; fill(reg, prov.value); });
  reg.addEventListener("change", function () { fill(dist, reg.value); });

  var lat = document.getElementById("latitude"), lon = document.getElementById("longitude");
  var status = document.getElementById("map-status");
  var asked = 0;

  function areasAt(y, x) {
    // The areas of the point fill the pickers (the citizen checks them).
    var mine = ++asked;
    return fetch("/v1/areas/at?lat=" + y + "&lon=" + x).then(function (r) {
      return r.ok ? r.json() : {};
    }).then(function (found) {
      if (mine !== asked) return;
      if (!found.province) {
        status.textContent = status.dataset.unknown;
        return;
      }
      prov.value = found.province;
      return fill(reg, found.province).then(function () {
        dist.length = 1;
        if (!found.regency_code) return;
        reg.value = found.regency_code;
        return fill(dist, found.regency_code).then(function () {
          if (found.district_code) dist.value = found.district_code;
        });
      }).then(function () {
        var names = [dist, reg, prov].filter(function (s) { return s.value; }).map(function (s) {
          return s.options[s.selectedIndex].text;
        });
        status.textContent = status.dataset.found.replace("{place}", names.join(", "));
      });
    }).catch(function () { status.textContent = status.dataset.unknown; });
  }

  var map = null, marker = null, box = document.getElementById("map");

  function place(y, x, fromMap) {
    lat.value = Number(y).toFixed(6);
    lon.value = Number(x).toFixed(6);
    if (map) {
      if (!marker) {
        marker = L.marker([y, x], { draggable: true, keyboard: true }).addTo(map);
        marker.on("dragend", function () {
          var p = marker.getLatLng();
          place(p.lat, p.lng, true);
        });
      } else {
        marker.setLatLng([y, x]);
      }
      if (!fromMap) map.setView([y, x], Math.max(map.getZoom(), 15));
    }
    areasAt(lat.value, lon.value);
  }

  if (window.L && box && box.dataset.tiles) {
    box.hidden = false;
    var start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : null;
    map = L.map(box, { tap: true }).setView(start || [-2.5, 118], start ? 15 : 4);
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.credit }).addTo(map);
    map.attributionControl.setPrefix(false);
    if (start) {
      marker = L.marker(start, { draggable: true }).addTo(map);
      marker.on("dragend", function () { var p = marker.getLatLng(); place(p.lat, p.lng, true); });
    }
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, true); });
  }

  function typed() {
    var y = Number(lat.value), x = Number(lon.value);
    if (lat.value && lon.value && isFinite(y) && isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) {
      place(y, x, false);
    }
  }
  lat.addEventListener("change", typed);
  lon.addEventListener("change", typed);

  var locate = document.getElementById("locate");
  if (navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        place(pos.coords.latitude, pos.coords.longitude, false);
      });
    });
  }
})();
