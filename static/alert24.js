// Alert24 responder pages: a double-submit guard and, when configured, Pusher live updates.
// htmx does the rest (fragments that refresh themselves; see incidents/live.py).
(function () {
  "use strict";

  // A double-clicked button posts once: the second submit of the same form is dropped.
  // (The server is idempotent anyway; this just keeps the page calm.)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) return;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  }, true);

  // Back/forward cache: a restored page must accept clicks again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // Remote images in an incident's details are the sender's: they load only when asked
  // (no tracking pixel on page view). The <template> holds them inert until then.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-show-images]") : null;
    if (!button) return;
    var template = button.parentNode.querySelector("template");
    if (!template) return;
    var shelf = document.createElement("div");
    shelf.className = "image-shelf";
    shelf.appendChild(document.importNode(template.content, true));
    button.parentNode.replaceChildren(shelf);
  });

  function startPusher() {
    var body = document.body;
    var key = body.dataset.pusherKey;
    if (!key || typeof window.Pusher === "undefined") return;
    var csrf = (body.getAttribute("hx-headers") || "").match(/"X-CSRFToken": "([^"]+)"/);
    var options = {
      cluster: body.dataset.pusherCluster || "mt1",
      channelAuthorization: {
        endpoint: body.dataset.pusherAuth,
        transport: "ajax",
        headers: csrf ? { "X-CSRFToken": csrf[1] } : {}
      }
    };
    if (body.dataset.pusherHost) {
      options.wsHost = body.dataset.pusherHost;
      if (body.dataset.pusherPort) { options.wsPort = options.wssPort = +body.dataset.pusherPort; }
    }
    var pusher = new window.Pusher(key, options);
    pusher.subscribe(body.dataset.pusherChannel).bind("incident-changed", function (data) {
      // Every live fragment listens for this (hx-trigger "incident-changed from:body").
      if (window.htmx) window.htmx.trigger(document.body, "incident-changed", data);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startPusher);
  } else {
    startPusher();
  }
})();
