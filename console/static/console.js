// The console's only script: refresh the parts of a page marked data-refresh, add order lines,
// and keep a form from being sent twice. Every page works without it, only less live.
(function () {
  "use strict";
  var every = parseInt(document.body.dataset.refreshMs || "2000", 10);

  // Fetch the element's fragment and put it in place, again and again, until the server says
  // nothing there will change by itself any more (X-Console-Settled).
  function follow(el) {
    function tick() {
      if (document.hidden) {
        setTimeout(tick, every);
        return;
      }
      fetch(el.dataset.refresh, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) {
            window.location.reload(); // the session ended: the page itself leads to the login
            return true;
          }
          if (!response.ok) return false;
          var settled = response.headers.get("X-Console-Settled") === "true";
          return response.text().then(function (html) {
            el.innerHTML = html;
            return settled;
          });
        })
        .catch(function () { return false; })
        .then(function (settled) {
          if (!settled) setTimeout(tick, every);
        });
    }
    setTimeout(tick, every);
  }
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    if (!el.hasAttribute("data-settled")) follow(el);
  });

  // "Add a line": a copy of the last line, emptied, with its own ids for the labels.
  var add = document.getElementById("add-line");
  var lines = document.getElementById("lines");
  if (add && lines) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var all = lines.querySelectorAll("li.line");
      if (all.length >= 50) return; // the order API takes at most 50 lines
      var copy = all[all.length - 1].cloneNode(true);
      var n = all.length;
      copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      copy.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.id = input.name + "-" + n;
      });
      copy.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/-\d+$/, "-" + n);
      });
      lines.appendChild(copy);
      copy.querySelector("input").focus();
    });
  }

  // A second click would be harmless (the form's idempotency key), but it is pointless.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = button.dataset.busy || "Working…";
      }
    });
  });
})();
