// Progressive enhancement only: every page works without it. No inline script anywhere (see the CSP).
"use strict";
(function () {
  // A decision form is sent once: the button is disabled while the request is on its way.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    });
  });
  // The "expires in" of a pending proposal counts down, so a page left open does not mislead.
  function words(seconds) {
    var past = seconds < 0, left = Math.abs(seconds), units = [[86400, "d"], [3600, "h"], [60, "min"]];
    var text = left + " s";
    for (var i = 0; i < units.length; i++) {
      if (left >= units[i][0]) { text = Math.floor(left / units[i][0]) + " " + units[i][1]; break; }
    }
    return past ? "expired " + text + " ago" : "in " + text;
  }
  var clocks = document.querySelectorAll("time[data-countdown]");
  if (clocks.length) {
    setInterval(function () {
      clocks.forEach(function (clock) {
        var at = Date.parse(clock.getAttribute("datetime"));
        if (!isNaN(at)) { clock.textContent = words(Math.round((at - Date.now()) / 1000)); }
      });
    }, 15000);
  }
})();
