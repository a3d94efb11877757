// Live updates for pages that declare data-live: on each "change" event the
// page is fetched again and its live parts ([data-live-part]) are swapped in,
// so a form being typed elsewhere on the page is left alone. Without
// JavaScript the page is read as served; reloading shows the news.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  if (!url || !window.EventSource || !window.fetch) return;
  var busy = false;
  function refresh() {
    if (busy) return;
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-part]").forEach(function (el) {
          var fresh = el.id && doc.getElementById(el.id);
          if (!fresh) return;
          var active = document.activeElement;
          if (active && el.contains(active) && active.tagName === "INPUT") return; // typing a reason
          // What the reader opened stays open.
          el.querySelectorAll("details[id][open]").forEach(function (d) {
            var f = fresh.querySelector("#" + CSS.escape(d.id));
            if (f) f.setAttribute("open", "");
          });
          el.replaceWith(fresh);
        });
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  var es = new EventSource(url);
  es.addEventListener("change", refresh);
})();
