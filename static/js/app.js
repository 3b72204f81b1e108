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
      // A field (the secret, the usage example) or plain text (a key id).
      var input = document.getElementById(copy.getAttribute("data-copy-target"));
      var status = copy.closest(".copy-line, .field").querySelector("[data-copy-status]");
      var done = function () { if (status) { status.textContent = "Copied to the clipboard."; } };
      var isField = input.matches("input, textarea");
      if (isField) { input.select(); } else { window.getSelection().selectAllChildren(input); }
      var text = isField ? input.value : input.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {
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
      showPendingDone();
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

  // ---- The key list's row actions and what follows a change (issue 12) ----

  // Links announced as buttons ("Export CSV") answer Space as buttons do;
  // a link does only Enter by itself.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === " " && target instanceof Element && target.matches("a[role=button]")) {
      event.preventDefault();
      target.click();
    }
  });

  // Each row's "Actions for …" is a <details> disclosure of links and forms
  // without JavaScript. Here it becomes the WAI-ARIA menu button: a button
  // (aria-haspopup, aria-expanded) opening a role=menu of menuitems. Enter,
  // Space, ArrowDown (or a click) open it on the first item, ArrowUp on the
  // last; arrows, Home, End and a first letter move; Escape closes it and
  // returns to the button; Tab (focus leaving it) closes it.
  function enhanceMenus(root) {
    root.querySelectorAll("details[data-menu]").forEach(function (details) {
      var summary = details.querySelector("summary");
      var items = details.querySelector("[data-menu-items]");
      if (!summary || !items) { return; }
      var wrapper = document.createElement("div");
      wrapper.className = "menu";
      wrapper.setAttribute("data-menu-button", "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = summary.className;
      button.id = summary.id;
      while (summary.firstChild) { button.appendChild(summary.firstChild); }
      items.id = button.id + "-menu";
      items.setAttribute("role", "menu");
      items.setAttribute("aria-labelledby", button.id);
      items.hidden = true;
      button.setAttribute("aria-haspopup", "menu");
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", items.id);
      items.querySelectorAll("form").forEach(function (form) { form.setAttribute("role", "none"); });
      menuItems(items).forEach(function (item) {
        item.setAttribute("role", "menuitem");
        item.tabIndex = -1;
      });
      summary.remove();
      wrapper.appendChild(button);
      wrapper.appendChild(items);
      details.replaceWith(wrapper);
    });
  }

  function menuItems(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll("a.menu-item, button.menu-item"));
  }

  function openMenu(button, which) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    document.querySelectorAll("[data-menu-button] [aria-expanded=true]").forEach(function (other) {
      if (other !== button) { closeMenu(other, false); }
    });
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    // Upwards when the viewport has no room below (the last rows).
    menu.classList.remove("menu-up");
    if (menu.getBoundingClientRect().bottom > window.innerHeight &&
        button.getBoundingClientRect().top > menu.offsetHeight) {
      menu.classList.add("menu-up");
    }
    var items = menuItems(menu);
    var item = which === "last" ? items[items.length - 1] : items[0];
    if (item) { item.focus(); }
  }

  function closeMenu(button, returnFocus) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (menu) { menu.hidden = true; }
    button.setAttribute("aria-expanded", "false");
    if (returnFocus) { button.focus(); }
  }

  function menuButtonOf(element) {
    var wrapper = element.closest("[data-menu-button]");
    return wrapper ? wrapper.querySelector("button[aria-haspopup=menu]") : null;
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var button = target && target.closest("button[aria-haspopup=menu]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") { closeMenu(button, true); } else { openMenu(button, "first"); }
      return;
    }
    var item = target && target.closest("[role=menuitem]");
    if (item) {
      // The item acts (htmx, a link, a form); the menu closes behind it and
      // focus waits on its button, where a dialog's Cancel brings it back.
      var owner = menuButtonOf(item);
      if (owner) { closeMenu(owner, true); }
      return;
    }
    document.querySelectorAll("[data-menu-button] [aria-expanded=true]").forEach(function (open) {
      if (!open.closest("[data-menu-button]").contains(target)) { closeMenu(open, false); }
    });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    if (target.matches("button[aria-haspopup=menu]")) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        openMenu(target, event.key === "ArrowUp" ? "last" : "first");
      }
      return;
    }
    if (!target.matches("[role=menuitem]")) { return; }
    var button = menuButtonOf(target);
    if (!button) { return; }
    var items = menuItems(target.closest("[role=menu]"));
    var at = items.indexOf(target);
    var next = null;
    if (event.key === "ArrowDown") { next = items[(at + 1) % items.length]; }
    else if (event.key === "ArrowUp") { next = items[(at - 1 + items.length) % items.length]; }
    else if (event.key === "Home" || event.key === "PageUp") { next = items[0]; }
    else if (event.key === "End" || event.key === "PageDown") { next = items[items.length - 1]; }
    else if (event.key === "Escape") { event.preventDefault(); closeMenu(button, true); return; }
    else if (event.key === "Tab") { closeMenu(button, false); return; }
    else if (event.key === " " && target.matches("a")) { event.preventDefault(); target.click(); return; }
    else if (event.key.length === 1 && /\S/.test(event.key)) {
      var letter = event.key.toLowerCase();
      var order = items.slice(at + 1).concat(items.slice(0, at + 1));
      next = order.filter(function (item) { return item.textContent.trim().toLowerCase().indexOf(letter) === 0; })[0] || null;
    }
    if (next) { event.preventDefault(); next.focus(); }
  });

  // Focus leaving an open menu (Tab, a click elsewhere) closes it.
  document.addEventListener("focusout", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var wrapper = target && target.closest("[data-menu-button]");
    if (!wrapper) { return; }
    var to = event.relatedTarget;
    if (to instanceof Node && wrapper.contains(to)) { return; }
    var button = wrapper.querySelector("button[aria-haspopup=menu]");
    if (button && button.getAttribute("aria-expanded") === "true") { closeMenu(button, false); }
  });

  document.addEventListener("DOMContentLoaded", function () { enhanceMenus(document); });
  document.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) { enhanceMenus(event.target); }
  });

  // After a change the server sends `keyward-done` (HX-Trigger): its
  // message goes into the page's one live region and focus to the first of
  // its elements that is there, once the list or key page has refreshed.
  // While a dialog is open (the new secret) both wait for it to close.
  var pendingDone = null;
  var wantedFocus = null;

  function announce(message) {
    var region = document.getElementById("status-message");
    if (!region) { return; }
    // Emptied first, so the same message said twice is announced twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function focusWanted() {
    if (!wantedFocus || Date.now() > wantedFocus.until) { wantedFocus = null; return; }
    var ids = wantedFocus.ids;
    for (var i = 0; i < ids.length; i++) {
      var element = document.getElementById(ids[i]);
      if (element && element.getClientRects().length > 0) { element.focus(); return; }
    }
  }

  function showPendingDone() {
    if (!pendingDone) { return; }
    var done = pendingDone;
    pendingDone = null;
    announce(done.message || "");
    wantedFocus = { ids: done.focus || [], until: Date.now() + 5000 };
    focusWanted();
  }

  document.addEventListener("keyward-done", function (event) {
    pendingDone = event.detail || {};
    var dialog = modal();
    if (!dialog || !dialog.open) { showPendingDone(); }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (wantedFocus && target && (target.id === "keys-table" || target.id === "key-page")) {
      focusWanted();
      wantedFocus = null;
    }
  });

  // A page a change redirected to (a deleted key's page becomes the list):
  // focus starts at its heading, beside the message, and the message's code
  // leaves the address, so a reload or a bookmark does not say it again.
  document.addEventListener("DOMContentLoaded", function () {
    var heading = document.querySelector("[data-flash-focus]");
    if (heading) { heading.focus(); }
    var url = new URL(window.location.href);
    if (url.searchParams.has("done") || url.searchParams.has("key")) {
      url.searchParams.delete("done");
      url.searchParams.delete("key");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
    }
  });
})();
