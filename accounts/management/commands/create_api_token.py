"""`manage.py create_api_token --email E --workspace SLUG --name N`: a token for scripts.

The raw token is the only thing written to stdout, alone on its line, so a script can capture it
with `TOKEN=$(manage.py create_api_token ...)`; the reminder goes to stderr.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts import selectors, services
from computehub.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API token for a user acting in one workspace and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The token owner's email address.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace the token acts in.")
        parser.add_argument("--name", required=True, help="A label to recognise the token by later.")

    def handle(self, *args, email, workspace, name, **options):
        user = selectors.user_by_email(email=email)
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        found = selectors.workspace_by_slug(slug=workspace)
        if found is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        try:
            token, raw = services.api_token_create(user=user, workspace=found, name=name)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} ({user.email} in {found.slug})") from exc
        self.stderr.write(f"Created token {token.prefix}… for {user.email} in {found.slug}; it is not shown again.")
        self.stdout.write(raw)
