"""The Connect form. The key field is a password input that never renders its value back, so a
refused form re-rendered with errors does not put the key into the page."""

from django import forms

from providers.adapters import adapter_class
from providers.services import connectable_kinds


def _provider_choices() -> list[tuple[str, str]]:
    """Never "This machine": it runs commands on the server, so only the operator turns it on."""
    return [(kind, adapter_class(kind).display_name) for kind in connectable_kinds()]


class ConnectForm(forms.Form):
    provider = forms.ChoiceField(choices=_provider_choices, label="Cloud")
    label = forms.CharField(max_length=80, required=False, help_text="How this account is named here, e.g. “Research”.")
    api_key = forms.CharField(
        label="API key", max_length=4096, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Checked with the provider, stored encrypted, never shown again (only its last 4 characters).",
    )
