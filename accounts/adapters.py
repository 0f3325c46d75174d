from allauth.account.adapter import DefaultAccountAdapter

from accounts.services import workspace_ensure_personal


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            workspace_ensure_personal(user=user)
        return user
