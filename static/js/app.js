// Keyward's page behaviour. Loaded as a file (the CSP allows no inline
// script); without it every form and link still works as plain HTML.
(function () {
  "use strict";

  var modal = function () { return document.getElementById("modal"); };

  function closeModal() {
    var dialog = modal();
    if (!dialog) { return; }
    if (dialog.open) { dialog.close(); }
    // Nothing of a closed dialog stays in the page, least of all a secret.
    dialog.innerHTML = "";
  }

  function openModalIfFilled() {
    var dialog = modal();
    if (!dialog || !dialog.querySelector(".dialog-content")) { return; }
    dialog.setAttribute("aria-labelledby", "dialog-title");
    if (!dialog.open) { dialog.showModal(); }
    var first = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea, button");
    if (first) { first.focus(); }
  }

  function isoDatePlusDays(days) {
    var date = new Date(Date.now() + days * 86400000);
    return date.toISOString().slice(0, 10);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var toast = target.closest("[data-dismiss-toast]");
    if (toast) { var box = toast.closest(".toast"); if (box) { box.remove(); } return; }
    if (target.closest("[data-close-dialog]")) { closeModal(); return; }
    var pick = target.closest("[data-expiry-days]");
    if (pick) {
      var field = pick.closest("form").querySelector("[name=expires_at]");
      var days = pick.getAttribute("data-expiry-days");
      field.value = days === "" ? "" : isoDatePlusDays(parseInt(days, 10));
      return;
    }
    var copy = target.closest("[data-copy-target]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy-target"));
      var status = copy.closest(".field").querySelector("[data-copy-status]");
      var done = function () { if (status) { status.textContent = "Copied to the clipboard."; } };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (status) { status.textContent = "Select the key and copy it with Ctrl+C (⌘C)."; }
        });
      } else if (document.execCommand && document.execCommand("copy")) {
        done();
      } else if (status) {
        status.textContent = "The key is selected: copy it with Ctrl+C (⌘C).";
      }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-ack-for")) {
      var button = document.getElementById(target.getAttribute("data-ack-for"));
      if (button) { button.disabled = !target.checked; }
      var reminder = document.getElementById("secret-ack-needed");
      if (reminder && target.checked) { reminder.hidden = true; }
    }
  });

  // A one-time secret not yet acknowledged: Esc must not throw it away.
  function unacknowledgedSecret() {
    var dialog = modal();
    var ack = dialog && dialog.querySelector("input[data-ack-for]");
    return ack && !ack.checked ? ack : null;
  }

  function remindToAcknowledge(ack) {
    var reminder = document.getElementById("secret-ack-needed");
    if (reminder) { reminder.hidden = false; }
    ack.focus();
  }

  // A key (or more of one than its key id) typed or pasted into Search: only
  // its key id (ask_ and 12 characters) may go into the request, the address
  // and history. The server applies the same rule (token::key_id_if_key_shaped).
  var WHOLE_KEY = /^\s*(ask_[0-9A-Za-z]{12})[0-9A-Za-z]{1,52}\s*$/;

  function keyIdOf(value) {
    var match = WHOLE_KEY.exec(value || "");
    return match ? match[1] : null;
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.name === "q") {
      var id = keyIdOf(target.value);
      if (id) { target.value = id; }
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var parameters = event.detail && event.detail.parameters;
    if (!parameters) { return; }
    var id = keyIdOf(parameters.q);
    if (id) { parameters.q = id; }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "modal") {
      if (modal().innerHTML.trim() === "") { closeModal(); } else { openModalIfFilled(); }
    }
  });
  document.addEventListener("close-modal", closeModal);
  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    var dialog = modal();
    if (!dialog) { return; }
    dialog.addEventListener("cancel", function (event) {
      var ack = unacknowledgedSecret();
      if (ack) { event.preventDefault(); remindToAcknowledge(ack); }
    });
    dialog.addEventListener("close", function () {
      // Browsers let a second Esc close a dialog whatever `cancel` says:
      // an unacknowledged secret comes straight back.
      var ack = unacknowledgedSecret();
      if (ack) { dialog.showModal(); remindToAcknowledge(ack); return; }
      dialog.innerHTML = "";
    });
  });
})();
