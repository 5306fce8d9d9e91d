// Aloft's pages work without this script; with it, a signed-in page gets new posts and the
// notification badge live from the streaming API (Server-Sent Events), and the compose
// form counts characters as the server does (a link counts 23).
(function () {
  "use strict";

  var LINK = /https?:\/\/\S+/g;

  function counter() {
    var text = document.getElementById("compose-text");
    var out = document.getElementById("compose-count");
    var cw = document.getElementById("compose-cw");
    if (!text || !out) return;
    var max = parseInt(text.getAttribute("data-max"), 10);
    function update() {
      var body = text.value.replace(LINK, "x".repeat(23));
      var left = max - Array.from(body).length - Array.from(cw ? cw.value : "").length;
      out.textContent = String(left);
      out.classList.toggle("error", left < 0);
    }
    text.addEventListener("input", update);
    if (cw) cw.addEventListener("input", update);
    update();
  }

  function bumpBadge() {
    var badge = document.getElementById("unread");
    if (!badge) return;
    var n = Math.min((parseInt(badge.textContent, 10) || 0) + 1, 99);
    badge.textContent = String(n);
    badge.setAttribute("aria-label", n + " unread");
    badge.hidden = false;
  }

  function addStatus(id) {
    var feed = document.getElementById("timeline");
    if (!feed || feed.getAttribute("data-live") !== "home") return;
    if (document.getElementById("s-" + id)) return;
    fetch("/web/statuses/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html || document.getElementById("s-" + id)) return;
        var box = document.createElement("template");
        box.innerHTML = html.trim();
        var card = box.content.firstElementChild;
        if (!card) return;
        card.classList.add("fresh");
        var empty = feed.querySelector(".empty");
        if (empty) empty.remove();
        feed.insertBefore(card, feed.firstElementChild);
      });
  }

  function stream() {
    var meta = document.querySelector('meta[name="aloft-stream"]');
    if (!meta || !meta.content || !window.EventSource) return;
    var url = "/api/v1/streaming/user?access_token=" + encodeURIComponent(meta.content);
    var source = new EventSource(url);
    // Said on the page, for people's tools and tests: the live updates are on.
    source.addEventListener("open", function () { document.body.setAttribute("data-stream", "open"); });
    source.addEventListener("error", function () { document.body.setAttribute("data-stream", "closed"); });
    source.addEventListener("update", function (e) {
      try { addStatus(JSON.parse(e.data).id); } catch (err) { /* not a status */ }
    });
    source.addEventListener("notification", bumpBadge);
  }

  counter();
  stream();
})();
