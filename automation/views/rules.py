"""The rule builder ("When … If … Then …"), its live plain-language preview, "Test against the last
7 days", and delete. Writes go through automation.services.rules; a refused rule comes back
with every field as typed and each error beside its block."""

import json

from django.contrib import messages
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation import describe, replay
from automation.services.rules import rule_create, rule_delete, rule_update, rule_validate
from automation.views import rules_form as form
from automation.views import rules_policies
from automation.views.rules_reads import builder_choices, channel_names, rule_get, scope_choices
from computehub import htmx
from computehub.errors import ApplicationError

EDITABLE = ("name", "trigger", "trigger_params", "conditions", "actions", "escalation", "cooldown_s",
            "max_per_hour", "dry_run", "enabled", "deployment")


def _can_edit(request) -> bool:
    return request.membership.allows(Role.DEVELOPER)


def _rule_data(rule) -> dict:
    data = {name: getattr(rule, name) for name in EDITABLE}
    data["deployment"] = str(rule.deployment_id) if rule.deployment_id else None
    return data


def _preview(request, data: dict) -> str:
    names = dict(scope_choices(workspace=request.workspace)[1:])  # [0] is "all deployments"
    return describe.describe_rule(data, deployment_name=names.get(str(data.get("deployment") or "")),
                                  channel_names=channel_names(workspace=request.workspace))


def _context(request, data: dict, *, rule=None, errors=None) -> dict:
    errors = errors or form.BlockErrors()
    choices = builder_choices(workspace=request.workspace)
    rows, match = form.flat_conditions(data.get("conditions") or {})
    return {
        "rule": rule, "data": data, "errors": errors, "can_edit": _can_edit(request),
        "triggers": form.trigger_blocks(data, errors, choices),
        "condition_rows": [form.condition_row(leaf, i, errors.condition_rows.get(i, []))
                           for i, leaf in enumerate(rows or [])],
        "nested_conditions": rows is None, "match": match,
        "condition_template": form.condition_row({}, "__i__"), "field_groups": form.field_groups(),
        "action_rows": [form.action_row(action, i, choices, errors.action_rows.get(i, []))
                        for i, action in enumerate(data.get("actions") or []) if isinstance(action, dict)],
        "action_template": form.action_row({"type": "notify"}, "__i__", choices),
        "escalation_text": describe.describe_actions(data.get("escalation")) if data.get("escalation") else "",
        "scopes": scope_choices(workspace=request.workspace), "meta": form.builder_meta(),
        "cooldown_min": form.cooldown_minutes(data.get("cooldown_s")),
        "preview": _preview(request, data),
        "conditions_json": json.dumps(data.get("conditions") or {}),
        "actions_json": json.dumps(data.get("actions") or []),
        "escalation_json": json.dumps(data.get("escalation") or []),
    }


def _refused(request, data: dict, exc: ApplicationError, *, rule=None):
    errors = form.sort_errors(exc.fields or {"general": [exc.message]})
    context = _context(request, data, rule=rule, errors=errors)
    return render(request, "automation/rule_builder.html", context, status=422)


@workspace_role_required(read_role=Role.DEVELOPER)
def rule_new(request):
    if request.method != "POST":
        return render(request, "automation/rule_builder.html", _context(request, dict(form.NEW_RULE)))
    data, problems = form.rule_data_from_post(request.POST)
    try:
        if problems:
            raise ApplicationError("The form could not be read.", fields=problems)
        rule = rule_create(workspace=request.workspace, user=request.user, data=data)
    except ApplicationError as exc:
        return _refused(request, data, exc)
    messages.success(request, f"Rule “{rule.name}” saved.")
    return htmx.redirect(request, reverse("automation:index"))


@workspace_role_required
def rule_edit(request, rule_id: int):
    rule = rule_get(workspace=request.workspace, rule_id=rule_id)
    if request.method != "POST":
        return render(request, "automation/rule_builder.html", _context(request, _rule_data(rule), rule=rule))
    data, problems = form.rule_data_from_post(request.POST)
    try:
        if problems:
            raise ApplicationError("The form could not be read.", fields=problems)
        rule = rule_update(rule=rule, user=request.user, data=data)
    except ApplicationError as exc:
        return _refused(request, data, exc, rule=rule)
    messages.success(request, f"Rule “{rule.name}” saved.")
    return htmx.redirect(request, reverse("automation:index"))


@require_POST
@workspace_role_required
def rule_remove(request, rule_id: int):
    rule = rule_get(workspace=request.workspace, rule_id=rule_id)
    name = rule.name
    rule_delete(rule=rule, user=request.user)
    messages.success(request, f"Rule “{name}” deleted; its past runs stay in the history.")
    return htmx.redirect(request, reverse("automation:index"))


@require_POST
@workspace_role_required(write_role=Role.VIEWER)  # reads only: anyone who may see rules may preview
def rule_preview(request):
    data, _ = form.rule_data_from_post(request.POST)
    problems = []
    try:
        rule_validate(workspace=request.workspace, data={**data, "name": data["name"] or "Untitled"})
    except ApplicationError as exc:
        problems = form.plain_problems(exc)
    return htmx.render_fragment(request, "automation/partials/rules_preview.html",
                                {"preview": _preview(request, data), "problems": problems})


@require_POST
@workspace_role_required(write_role=Role.VIEWER)  # writes nothing: a replay only reads history
def rule_replay(request):
    data, _ = form.rule_data_from_post(request.POST)
    try:
        result = replay.replay_rule(workspace=request.workspace, data=data)
    except ApplicationError as exc:
        context = {"problems": form.plain_problems(exc)}
    else:
        names = channel_names(workspace=request.workspace)
        context = {"result": result, "rows": [
            {"row": row, "has_conditions": bool(data.get("conditions")),
             "actions_text": describe.describe_actions(row.actions, channel_names=names)} for row in result.rows]}
    return htmx.render_fragment(request, "automation/partials/rules_replay.html", context)


urlpatterns = [
    path("rules/new/", rule_new, name="rule-new"),
    path("rules/preview/", rule_preview, name="rule-preview"),
    path("rules/replay/", rule_replay, name="rule-replay"),
    path("rules/<int:rule_id>/", rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/delete/", rule_remove, name="rule-delete"),
    *rules_policies.urlpatterns,
]
