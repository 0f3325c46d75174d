/* The rule builder: add, remove and reorder "If" conditions and "Then" actions without a reload,
   keep each condition's operators and value input fitting its field, and keep the JSON the server
   reads (hidden inputs `conditions` and `actions`) in step with the rows. After every change the
   form fires `builder-changed`, on which HTMX asks the server for the plain-language preview. */
(function () {
  "use strict";

  var counter = 1000;

  function fromTemplate(id) {
    var holder = document.createElement("ol");
    holder.innerHTML = document.getElementById(id).innerHTML.split("__i__").join(String(counter++)).trim();
    return holder.firstElementChild;
  }

  function typedNumber(raw) {
    var n = Number(raw);
    return raw !== "" && isFinite(n) ? n : raw;
  }

  function Builder(form, meta) {
    this.form = form;
    this.meta = meta;
    this.conditions = form.querySelector("[data-conditions]");
    this.actions = form.querySelector("[data-actions]");
  }

  Builder.prototype.fitCondition = function (row, fieldChanged) {
    var field = row.querySelector("[data-field]").value;
    var spec = this.meta.fields[field];
    var opSelect = row.querySelector("[data-op]");
    if (fieldChanged) {
      var keep = opSelect.value;
      opSelect.innerHTML = "";
      this.meta.ops[field].forEach(function (pair) {
        opSelect.add(new Option(pair[1], pair[0], false, pair[0] === keep));
      });
    }
    var op = opSelect.value;
    var input = row.querySelector("[data-value]");
    var boolSelect = row.querySelector("[data-value-bool]");
    var useBool = op === "exists" || spec.type === "bool";
    input.hidden = useBool;
    boolSelect.hidden = !useBool;
    boolSelect.options[0].text = op === "exists" ? "known" : "yes";
    boolSelect.options[1].text = op === "exists" ? "unknown" : "no";
    var list = op === "in" || op === "not_in";
    input.type = spec.type === "number" && !list ? "number" : "text";
    if (input.type === "number") input.step = "any";
    input.placeholder = list ? "a, b, c" : "";
    if (spec.choices.length) input.setAttribute("list", "choices-" + field);
    else input.removeAttribute("list");
  };

  Builder.prototype.leaf = function (row) {
    var field = row.querySelector("[data-field]").value;
    var op = row.querySelector("[data-op]").value;
    var spec = this.meta.fields[field];
    var out = { field: field, op: op };
    if (op === "exists" || spec.type === "bool") {
      out.value = row.querySelector("[data-value-bool]").value === "true";
      return out;
    }
    var raw = row.querySelector("[data-value]").value.trim();
    var typed = function (v) { return spec.type === "number" ? typedNumber(v) : v; };
    if (op === "in" || op === "not_in") {
      out.value = raw.split(",").map(function (v) { return v.trim(); }).filter(Boolean).map(typed);
    } else {
      out.value = typed(raw);
    }
    return out;
  };

  Builder.prototype.action = function (row) {
    var type = row.querySelector("[data-action-type]").value;
    var out = { type: type };
    var group = row.querySelector('[data-params-for="' + type + '"]');
    group.querySelectorAll("[data-param]").forEach(function (param) {
      var key = param.dataset.param, kind = param.dataset.kind;
      if (kind === "bool") {
        out[key] = param.querySelector("input").checked;
      } else if (kind === "channels") {
        out[key] = Array.prototype.map.call(param.querySelectorAll("input:checked"), function (i) { return i.value; });
      } else {
        var raw = param.querySelector("input, select").value.trim();
        if (raw !== "") out[key] = kind === "number" ? typedNumber(raw) : raw;
      }
    });
    return out;
  };

  Builder.prototype.serialize = function () {
    var self = this;
    if (this.conditions) {
      var leaves = Array.prototype.map.call(this.conditions.children, function (row) { return self.leaf(row); });
      var matched = this.form.querySelector("[data-match]:checked");
      var condition = {};
      if (leaves.length) condition[matched ? matched.value : "all"] = leaves;
      this.form.querySelector("[data-conditions-json]").value = JSON.stringify(condition);
      this.form.querySelector("[data-no-conditions]").hidden = leaves.length > 0;
    }
    var actions = Array.prototype.map.call(this.actions.children, function (row) { return self.action(row); });
    this.form.querySelector("[data-actions-json]").value = JSON.stringify(actions);
  };

  Builder.prototype.changed = function () {
    this.serialize();
    this.form.dispatchEvent(new CustomEvent("builder-changed", { bubbles: true }));
  };

  Builder.prototype.showTrigger = function () {
    var chosen = this.form.querySelector("[data-trigger]").value;
    this.form.querySelectorAll("[data-trigger-params]").forEach(function (block) {
      block.hidden = block.dataset.triggerParams !== chosen;
    });
  };

  Builder.prototype.showActionParams = function (row) {
    var type = row.querySelector("[data-action-type]").value;
    row.querySelectorAll("[data-params-for]").forEach(function (group) {
      group.hidden = group.dataset.paramsFor !== type;
    });
  };

  Builder.prototype.onClick = function (event) {
    var button = event.target.closest("button");
    if (!button || !this.form.contains(button)) return;
    var row = button.closest("li");
    if (button.hasAttribute("data-add-condition")) {
      var added = fromTemplate("condition-template");
      this.conditions.appendChild(added);
      this.fitCondition(added, true);
      added.querySelector("[data-field]").focus();
    } else if (button.hasAttribute("data-add-action")) {
      var action = fromTemplate("action-template");
      this.actions.appendChild(action);
      action.querySelector("[data-action-type]").focus();
    } else if (button.dataset.move && row) {
      var other = button.dataset.move === "up" ? row.previousElementSibling : row.nextElementSibling;
      if (other) row.parentNode.insertBefore(button.dataset.move === "up" ? row : other, button.dataset.move === "up" ? other : row);
      button.focus();
    } else if (button.hasAttribute("data-remove") && row) {
      row.remove();
    } else {
      return;
    }
    this.changed();
  };

  Builder.prototype.onChange = function (event) {
    var target = event.target, row = target.closest("li");
    if (target.matches("[data-field]")) this.fitCondition(row, true);
    if (target.matches("[data-op]")) this.fitCondition(row, false);
    if (target.matches("[data-trigger]")) this.showTrigger();
    if (target.matches("[data-action-type]")) this.showActionParams(row);
    this.changed();
  };

  Builder.prototype.start = function () {
    var self = this;
    this.form.addEventListener("click", function (e) { self.onClick(e); });
    this.form.addEventListener("change", function (e) { self.onChange(e); });
    this.form.addEventListener("input", function (e) { if (e.target.matches("input[type=text], input[type=number]")) self.changed(); });
    this.form.addEventListener("submit", function () { self.serialize(); });
    document.body.addEventListener("htmx:confirm", function () { self.serialize(); });
    if (this.conditions) Array.prototype.forEach.call(this.conditions.children, function (row) { self.fitCondition(row, false); });
    this.showTrigger();
    this.serialize();
    this.form.dataset.ready = "true";
  };

  function init() {
    var form = document.querySelector("[data-rule-builder]");
    var meta = document.getElementById("builder-meta");
    if (form && meta) new Builder(form, JSON.parse(meta.textContent)).start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
