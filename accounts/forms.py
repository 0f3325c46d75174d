"""Page forms for teams, invitations and tokens. They check shape only; services decide."""

from django import forms

from accounts.models import Role


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"placeholder": "name@company.com", "autocomplete": "off"})
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class WorkspaceForm(forms.Form):
    name = forms.CharField(
        label="Team name", max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. Acme ML", "autofocus": True})
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=80,
        help_text="Something you will recognise later, like “CI pipeline” or “laptop”.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. CI pipeline"}),
    )


class SshKeyForm(forms.Form):
    name = forms.CharField(label="Key name", max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. laptop"}))
    public_key = forms.CharField(
        label="Public key",
        help_text="One line from your ~/.ssh/id_ed25519.pub (or id_rsa.pub). Never paste the private key.",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ssh-ed25519 AAAA… you@laptop", "spellcheck": "false"}),
    )
