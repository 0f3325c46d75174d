"""The health check's edit form on the deployment page. It checks types; the service checks
meaning (the port is one of the deployment's, the path starts with /)."""

from django import forms

from automation.models import HealthCheck, ProbeKind
from automation.services.health import INTERVAL_RANGE, TIMEOUT_RANGE


class HealthCheckForm(forms.Form):
    kind = forms.ChoiceField(label="Probe", choices=ProbeKind.choices)
    path = forms.CharField(label="Path", required=False, max_length=200, strip=False,
                           help_text="HTTP only, e.g. /health.")
    port = forms.TypedChoiceField(label="Port", required=False, coerce=int, empty_value=None)
    use_https = forms.BooleanField(label="Use HTTPS", required=False)
    interval_s = forms.IntegerField(label="Every (seconds)", min_value=INTERVAL_RANGE[0], max_value=INTERVAL_RANGE[1])
    timeout_s = forms.FloatField(label="Timeout (seconds)", min_value=TIMEOUT_RANGE[0], max_value=TIMEOUT_RANGE[1])
    enabled = forms.BooleanField(label="Check this deployment", required=False)
    migratable = forms.BooleanField(label="May be moved to a cheaper equal offer", required=False)

    def __init__(self, *args, deployment, **kwargs):
        super().__init__(*args, **kwargs)
        ports = [int(p) for p in deployment.ports or []]
        self.fields["port"].choices = [("", "—")] + [(p, str(p)) for p in ports]

    @classmethod
    def for_check(cls, check: HealthCheck, data=None):
        initial = {name: getattr(check, name) for name in cls.base_fields}
        return cls(data, initial=initial, deployment=check.deployment)

    def put_back(self, fields: dict, message: str) -> None:
        """The service's field errors onto the fields; anything else above the form."""
        if not fields:
            self.add_error(None, message)
        for name, problems in fields.items():
            self.add_error(name if name in self.fields else None, problems)
