"""Automation pages: jobs. The queue (refreshed every 5 s by HTMX), the submit form (field errors
inline) and cancel buttons. The form only checks shapes; automation.services.jobs checks the rest
and its field errors are put back on the form's fields."""

import shlex

from django import forms
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation.models import JobStatus
from automation.selectors.jobs import connected_kinds, job_counts, job_get, jobs_with_last_attempt
from automation.services.jobs import job_cancel, job_submit
from computehub import htmx
from computehub.errors import ApplicationError
from deployments.templates_service import templates_visible
from pricing.gpu_specs import GPU_SPECS
from providers.models import provider_display_name

SHOWN = 100


class JobForm(forms.Form):
    name = forms.CharField(max_length=80)
    template = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Template (optional)")
    image = forms.CharField(required=False, max_length=300, help_text="Empty with a template: the template's image.")
    command = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
                              help_text="As on a shell line, e.g. <code>python train.py --epochs 3</code>.")
    env = forms.CharField(required=False, max_length=8000, label="Environment", widget=forms.Textarea(attrs={"rows": 2}),
                          help_text="One <code>NAME=value</code> per line. Not for secrets.")
    gpu_model = forms.ChoiceField(required=False, label="GPU model", help_text="Any: this machine counts too.")
    min_gpus = forms.IntegerField(initial=1, label="GPUs")
    min_vram_gb = forms.FloatField(initial=0, label="Min VRAM per GPU (GB)")
    max_price_per_hour = forms.FloatField(label="Max $/hour")
    max_runtime_s = forms.IntegerField(initial=3600, label="Max runtime (s)")
    max_retries = forms.IntegerField(initial=2, label="Retries")
    allow_spot = forms.BooleanField(required=False, initial=True, label="Spot offers allowed")
    providers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                          help_text="None ticked: any connected provider.")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        templates = templates_visible(workspace=workspace).values_list("pk", "name")
        self.fields["template"].choices = [("", "None: image and command below"), *templates]
        self.fields["gpu_model"].choices = [("", "Any")] + [(key, spec.name) for key, spec in GPU_SPECS.items()]
        self.fields["providers"].choices = [(kind, provider_display_name(kind)) for kind in connected_kinds(workspace)]

    def clean_command(self) -> list[str]:
        try:
            return shlex.split(self.cleaned_data["command"])
        except ValueError as exc:
            raise forms.ValidationError(f"The command does not split like a shell line: {exc}.") from None

    def clean_env(self) -> dict[str, str]:
        lines = [line.strip() for line in self.cleaned_data["env"].splitlines() if line.strip()]
        bad = [line for line in lines if "=" not in line]
        if bad:
            raise forms.ValidationError(f"“{bad[0][:30]}” is not NAME=value.")
        return dict(line.split("=", 1) for line in lines)


def _put_back(form: JobForm, exc: ApplicationError) -> None:
    for field, problems in exc.fields.items():
        form.add_error(field if field in form.fields else None, problems)
    if not exc.fields:
        form.add_error(None, exc.message)


def _tabs(workspace) -> list[tuple[str, str, int]]:
    counts = job_counts(workspace=workspace)
    return [(value, label, counts.get(value, 0)) for value, label in JobStatus.choices]


def _context(request, form=None) -> dict:
    status = request.GET.get("status") if request.GET.get("status") in JobStatus.values else None
    can_act = request.membership.allows(Role.DEVELOPER)
    return {"jobs": jobs_with_last_attempt(workspace=request.workspace, status=status, limit=SHOWN), "status_filter": status,
            "status_tabs": _tabs(request.workspace), "can_act": can_act,
            "form": form or (JobForm(workspace=request.workspace) if can_act else None)}


@require_safe
@workspace_role_required
def jobs(request):
    return htmx.render_page(request, "automation/jobs.html", _context(request), partial="automation/partials/jobs_table.html")


@require_http_methods(["POST"])
@workspace_role_required
def submit(request):
    form = JobForm(request.POST, workspace=request.workspace)
    if form.is_valid():
        try:
            job_submit(workspace=request.workspace, user=request.user, data=form.cleaned_data)
        except ApplicationError as exc:
            _put_back(form, exc)
        else:
            return htmx.redirect(request, reverse("automation:jobs"))
    return htmx.render_page(request, "automation/jobs.html", _context(request, form),
                            partial="automation/partials/jobs_form.html", status=422)


@require_POST
@workspace_role_required
def cancel(request, job_id: int):
    job = job_get(workspace=request.workspace, job_id=job_id)
    try:
        job_cancel(job=job, user=request.user)
    except ApplicationError:
        pass  # it finished meanwhile: the refreshed table shows how
    if htmx.is_partial(request):
        return htmx.render_fragment(request, "automation/partials/jobs_table.html", _context(request))
    return redirect("automation:jobs")


urlpatterns = [
    path("jobs/", jobs, name="jobs"),
    path("jobs/submit/", submit, name="job-submit"),
    path("jobs/<int:job_id>/cancel/", cancel, name="job-cancel"),
]
