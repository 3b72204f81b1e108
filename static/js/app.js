// Keyward's small amount of page behaviour. Loaded as a file (the CSP allows no
// inline script); everything degrades to plain forms and links without it.
(function () {
  "use strict";

  function dismissToast(event) {
    var button = event.target.closest("[data-dismiss-toast]");
    if (button) {
      var toast = button.closest(".toast");
      if (toast) { toast.remove(); }
    }
  }

  document.addEventListener("click", dismissToast);
})();
