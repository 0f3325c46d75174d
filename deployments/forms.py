"""The launch form: turns what a person typed into the arguments of
deployments.services.deployment_create_from_offer. Only the shape is checked here (numbers are
numbers, the command splits like a shell line); the rules (image syntax, port range, variable
names, disk minimum, bid minimum) live in the service, whose field errors the view puts back on
these fields."""

import re
import shlex

from django import forms

ENV_ROW = re.compile(r"^env-(\d{1,3})-(key|value|secret)$")
# The env rows are read from the raw POST, past Django's field validators (which refuse NUL):
# refuse control characters here. A tab can be pasted into a value; nothing else can be typed
# into these one-line inputs, and PostgreSQL cannot store NUL at all.
ENV_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MAX_ENV_ROWS = 100


class LaunchForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Shown in the list and on the timeline.")
    image = forms.CharField(max_length=300, help_text="Container image, e.g. <code>vllm/vllm-openai:latest</code>.")
    # A textarea: a quoted argument may hold newlines (a `python -c` script), which an <input> drops.
    command = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Arguments for the image, as on a shell line. Empty: the image's default.",
    )
    ports = forms.CharField(required=False, max_length=200, help_text="Container ports to expose, comma-separated.")
    disk_gb = forms.IntegerField(label="Disk (GB)", min_value=1, max_value=10_000)
    spot = forms.BooleanField(required=False, label="Spot (interruptible, cheaper)")
    bid_per_hour = forms.FloatField(required=False, label="Bid ceiling ($/hour)", min_value=0)

    def __init__(self, *args, allow_spot: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_spot = allow_spot
        if not allow_spot:
            del self.fields["spot"], self.fields["bid_per_hour"]
        self.env_rows = env_rows_from(self.data) if self.is_bound else []

    def clean_command(self) -> list[str]:
        try:
            return shlex.split(self.cleaned_data["command"])
        except ValueError as exc:
            raise forms.ValidationError(f"The command does not split like a shell line: {exc}.") from None

    def clean_ports(self) -> list[int]:
        parts = [part.strip() for part in self.cleaned_data["ports"].replace(" ", ",").split(",") if part.strip()]
        bad = [part for part in parts if not part.isdigit()]
        if bad:
            raise forms.ValidationError(f"“{bad[0][:20]}” is not a port number.")
        return [int(part) for part in parts]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("spot") and cleaned.get("bid_per_hour") is None:
            self.add_error("bid_per_hour", "A spot deployment needs a bid ceiling.")
        self.env_errors = env_row_problems(self.env_rows)
        if self.env_errors:  # shown beside the rows (launch.html); this makes the form invalid
            self.add_error(None, "Please correct the environment variables.")
        return cleaned

    def service_arguments(self) -> dict:
        """Keyword arguments for deployment_create_from_offer (env split into plain and secret)."""
        data = self.cleaned_data
        env = {row["key"]: row["value"] for row in self.env_rows if row["key"] and not row["secret"]}
        secret_env = {row["key"]: row["value"] for row in self.env_rows if row["key"] and row["secret"]}
        arguments = {"name": data["name"], "image": data["image"], "command": data["command"], "env": env,
                     "secret_env": secret_env, "ports": data["ports"], "disk_gb": data["disk_gb"]}
        if self.allow_spot:
            arguments |= {"spot": data.get("spot", False), "bid_per_hour": data.get("bid_per_hour")}
        return arguments

    def forget_secrets(self) -> None:
        """After a submit, secret values are never sent back to the browser; the rows stay."""
        for row in self.env_rows:
            if row["secret"]:
                row["value"] = ""


def env_rows_from(data) -> list[dict]:
    """The key/value rows the page's script numbers env-<i>-key|value|secret, in row order."""
    rows: dict[int, dict] = {}
    for name in data:
        match = ENV_ROW.match(name)
        if match:
            rows.setdefault(int(match[1]), {"key": "", "value": "", "secret": False})
            rows[int(match[1])][match[2]] = data.get(name) if match[2] != "secret" else True
    ordered = [rows[i] for i in sorted(rows)][:MAX_ENV_ROWS]
    for row in ordered:
        row["key"] = row["key"].strip()
    return [row for row in ordered if row["key"] or row["value"]]


def env_row_problems(rows) -> list[str]:
    """One message per row whose name or value holds a control character (a tab in a value is fine).
    A secret's value is never echoed back, so messages name the variable only."""
    problems = []
    for row in rows:
        if ENV_CONTROL.search(row["key"]) or "\t" in row["key"]:
            problems.append("A variable name cannot contain control characters.")
        elif ENV_CONTROL.search(row["value"]):
            problems.append(f"The value of {row['key'] or 'a variable'} cannot contain control characters "
                            "other than tabs.")
    return problems


def env_rows_initial(env: dict, secret_keys=()) -> list[dict]:
    """Rows for an unbound form: a template's defaults (never secrets) plus named secret slots."""
    rows = [{"key": key, "value": str(value), "secret": False} for key, value in env.items()]
    return rows + [{"key": key, "value": "", "secret": True} for key in secret_keys]
