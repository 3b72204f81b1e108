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
    prepareForm(dialog);
    // A refused form: the summary of its problems, where the eye is.
    var first = dialog.querySelector("[data-error-summary]") ||
      dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea:not([readonly]), button:not([tabindex='-1'])");
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
    // Cancel and Done also work without JavaScript (they submit to the
    // list); here they close the dialog instead.
    var closer = target.closest("[data-close-dialog]");
    if (closer && closer.closest("#modal")) { event.preventDefault(); closeModal(); return; }
    if (formButtonClicked(event, target)) { return; }
    var copy = target.closest("[data-copy-target]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy-target"));
      var status = copy.closest(".field").querySelector("[data-copy-status]");
      var done = function () { if (status) { status.textContent = "Copied to the clipboard."; } };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (status) { status.textContent = "Select the text and copy it with Ctrl+C (⌘C)."; }
        });
      } else if (document.execCommand && document.execCommand("copy")) {
        done();
      } else if (status) {
        status.textContent = "The text is selected: copy it with Ctrl+C (⌘C).";
      }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    formFieldChanged(target);
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

  // A key (or more of one than its key id) typed or pasted into Search, or
  // into the key list's Resource: only its key id (ask_ and 12 characters)
  // may go into the request, the address and history. The server applies
  // the same rule (token::key_id_if_key_shaped).
  var WHOLE_KEY = /^\s*(ask_[0-9A-Za-z]{12})[0-9A-Za-z]{1,52}\s*$/;

  function keyIdOf(value) {
    var match = WHOLE_KEY.exec(value || "");
    return match ? match[1] : null;
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    formFieldChanged(target);
    if (target instanceof HTMLInputElement && (target.name === "q" || target.name === "resource")) {
      var id = keyIdOf(target.value);
      if (id) { target.value = id; }
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var parameters = event.detail && event.detail.parameters;
    if (!parameters) { return; }
    ["q", "resource"].forEach(function (name) {
      var id = keyIdOf(parameters[name]);
      if (id) { parameters[name] = id; }
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "modal") {
      if (modal().innerHTML.trim() === "") { closeModal(); } else { openModalIfFilled(); }
    }
  });
  document.addEventListener("close-modal", closeModal);
  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    // A dialog shown as a page of its own (a link opened in a new tab).
    document.querySelectorAll(".dialog-page").forEach(prepareForm);
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

  // ---- The key form (create and edit) and the one-time secret dialog ----
  // Every button here is a submit button that, without JavaScript, sends the
  // form back to be shown again with its change made (`adjust`); with
  // JavaScript the change is made in the page and nothing is sent.

  /// Brings a freshly shown dialog's controls into line with its fields.
  function prepareForm(root) {
    root.querySelectorAll("input[data-ack-for]").forEach(function (ack) {
      var button = document.getElementById(ack.getAttribute("data-ack-for"));
      if (button) { button.disabled = !ack.checked; }
    });
    var form = root.querySelector("form[id=key-form]");
    if (!form) { return; }
    syncScopeRows(form);
    syncCoveredNotes(form);
    syncWarnings(form);
    syncQuickPicks(form);
  }

  function keyForm(element) {
    var form = element && element.closest ? element.closest("form") : null;
    return form && form.id === "key-form" ? form : null;
  }

  function chosenScopeMode(form) {
    var chosen = form.querySelector("input[name=scope_mode]:checked");
    return chosen ? chosen.value : "";
  }

  // Rows (and their buttons) take part only under "Custom scopes".
  function syncScopeRows(form) {
    var off = chosenScopeMode(form) !== "custom";
    form.querySelectorAll("[data-custom-scopes] select, [data-custom-scopes] input, [data-custom-scopes] button")
      .forEach(function (control) { control.disabled = off; });
    var box = form.querySelector("[data-custom-scopes]");
    if (box) { box.classList.toggle("is-off", off); }
  }

  function renumberScopeRows(form) {
    form.querySelectorAll("[data-scope-row]").forEach(function (row, i) {
      var n = i + 1;
      row.querySelector("select[name=scope_action]").setAttribute("aria-label", "Action of scope " + n);
      row.querySelector("input[name=scope_resource]").setAttribute("aria-label", "Resource filter of scope " + n);
      var remove = row.querySelector("[data-remove-scope]");
      remove.setAttribute("aria-label", "Remove scope " + n);
      remove.value = "scope:remove:" + n;
    });
  }

  function clearRow(row) {
    row.querySelector("select[name=scope_action]").value = "";
    row.querySelector("input[name=scope_resource]").value = "";
  }

  // "covered by read on assets" beside a ticked permission that another
  // ticked one covers (the server lists the candidates in data-covered-by).
  function syncCoveredNotes(form) {
    var ticked = {};
    form.querySelectorAll("input[name=permission]:checked").forEach(function (box) { ticked[box.value] = true; });
    form.querySelectorAll("input[name=permission][data-covered-by]").forEach(function (box) {
      var note = document.getElementById(box.id + "-covered");
      if (!note) { return; }
      var by = (box.getAttribute("data-covered-by") || "").split(" ").filter(function (value) {
        return value && ticked[value];
      })[0];
      var covered = box.checked && by;
      note.hidden = !covered;
      note.textContent = covered ? "covered by " + by.replace(":", " on ") : "";
    });
  }

  function syncWarnings(form) {
    var networks = form.querySelector("[name=networks]");
    var wildcard = form.querySelector("[data-wildcard-warning]");
    if (networks && wildcard) {
      wildcard.hidden = !networks.value.split(/[\n,]/).some(function (entry) { return /\/0$/.test(entry.trim()); });
    }
    var query = form.querySelector("[name=allow_query_key]");
    var queryWarning = form.querySelector("[data-query-warning]");
    if (query && queryWarning) { queryWarning.hidden = !query.checked; }
  }

  function syncQuickPicks(form) {
    var field = form.querySelector("[name=expires_at]");
    form.querySelectorAll("[data-expiry-days]").forEach(function (pick) {
      var days = pick.getAttribute("data-expiry-days");
      var value = days === "" ? "" : isoDatePlusDays(parseInt(days, 10));
      pick.setAttribute("aria-pressed", field && field.value.trim() === value ? "true" : "false");
    });
  }

  /// A click on one of the form's own buttons; true when it was one.
  function formButtonClicked(event, target) {
    var button = target.closest("button");
    var form = keyForm(button);
    if (!form || button.disabled) { return false; }
    if (button.hasAttribute("data-expiry-days")) {
      var days = button.getAttribute("data-expiry-days");
      form.querySelector("[name=expires_at]").value = days === "" ? "" : isoDatePlusDays(parseInt(days, 10));
      syncQuickPicks(form);
    } else if (button.hasAttribute("data-any-address")) {
      var networks = form.querySelector("[name=networks]");
      networks.value = "0.0.0.0/0\n::/0";
      syncWarnings(form);
      networks.focus();
    } else if (button.hasAttribute("data-network-fix")) {
      var field = form.querySelector("[name=networks]");
      var typed = button.getAttribute("data-network-fix");
      var meant = button.getAttribute("data-network-meant");
      field.value = field.value.split("\n").map(function (line) {
        return line.split(",").map(function (entry) { return entry.trim() === typed ? meant : entry; }).join(",");
      }).join("\n");
      var fixes = button.parentNode;
      button.remove();
      if (!fixes.querySelector("button")) { fixes.remove(); }
      field.focus();
    } else if (button.hasAttribute("data-add-scope")) {
      var rows = form.querySelector("[data-scope-rows]");
      var last = rows.querySelector("[data-scope-row]:last-child");
      var row = last.cloneNode(true);
      clearRow(row);
      rows.appendChild(row);
      renumberScopeRows(form);
      row.querySelector("select").focus();
    } else if (button.hasAttribute("data-remove-scope")) {
      var gone = button.closest("[data-scope-row]");
      var all = form.querySelectorAll("[data-scope-row]");
      var next = gone.nextElementSibling || gone.previousElementSibling;
      if (all.length === 1) { clearRow(gone); next = gone; } else { gone.remove(); }
      renumberScopeRows(form);
      var focus = next ? next.querySelector("[data-remove-scope]") : form.querySelector("[data-add-scope]");
      if (focus) { focus.focus(); }
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  function formFieldChanged(target) {
    var form = keyForm(target);
    if (!form) { return; }
    if (target.name === "permission" && target.checked && chosenScopeMode(form) !== "custom") {
      // Ticking a permission is choosing custom scopes.
      form.querySelector("input[name=scope_mode][value=custom]").checked = true;
    }
    syncScopeRows(form);
    syncCoveredNotes(form);
    syncWarnings(form);
    syncQuickPicks(form);
  }

  // ---- The key list's filters ----
  // A refused "Can" or "Resource" comes back from htmx as a message beside
  // the field (swapped out of band): the field is marked invalid while it
  // has one, as the page without JavaScript renders it.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("form.filters [data-field-error]").forEach(function (message) {
      var field = message.closest(".field");
      var control = field && field.querySelector("input, select");
      if (!control) { return; }
      var invalid = message.textContent.trim() !== "";
      field.classList.toggle("field-invalid", invalid);
      if (invalid) { control.setAttribute("aria-invalid", "true"); } else { control.removeAttribute("aria-invalid"); }
    });
  });

  // The summary's links move focus to the field itself (a fieldset: its
  // first control), not only the view.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-error-link]") : null;
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    event.preventDefault();
    var control = target.matches("input, select, textarea") ? target :
      target.querySelector("input:checked, input:not([type=hidden]):not(:disabled), select:not(:disabled), textarea");
    target.scrollIntoView({ block: "center" });
    (control || target).focus();
  });
})();
