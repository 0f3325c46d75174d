"""Templates: the selectors that decide what a workspace sees (presets, its own, published ones)
and the services that write a workspace's own. Presets are read-only; field rules are the
launch form's (deployments.services.validation), so a template always makes a valid launch."""

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.text import slugify

from accounts.models import Role
from computehub.errors import ApplicationError
from deployments.models import DeploymentTemplate
from deployments.services import validation as v

EDITABLE = ("name", "description", "image", "command", "local_command", "ports", "env", "disk_gb",
            "min_vram_gb", "health_path")
PRESET_READ_ONLY = "Presets are read-only: create a template of your own from its values to change them."
FOREIGN_READ_ONLY = "This template belongs to another workspace; only that workspace can change it."
DESCRIPTION_MAX = 2000
VRAM_MAX_GB = 2048


# --- selectors ----------------------------------------------------------------------------------


def templates_visible(*, workspace, q: str = "") -> QuerySet[DeploymentTemplate]:
    """Presets, the workspace's own templates and every published one; `q` searches name and description."""
    templates = DeploymentTemplate.objects.filter(Q(is_preset=True) | Q(workspace=workspace) | Q(is_public=True))
    q = (q or "").strip()
    if q:
        templates = templates.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return templates.order_by("-is_preset", "name", "id")


def template_get(*, workspace, template_id) -> DeploymentTemplate:
    """A template this workspace may see; 404 otherwise (another workspace's unpublished one too)."""
    template = templates_visible(workspace=workspace).filter(pk=template_id).first()
    if template is None:
        raise Http404("No such template.")
    return template


# --- services -----------------------------------------------------------------------------------


def _refuse_unless_own(template: DeploymentTemplate, workspace) -> None:
    if template.is_preset:
        raise ApplicationError(PRESET_READ_ONLY, code="read_only", status=403)
    if template.workspace_id != workspace.pk:
        raise ApplicationError(FOREIGN_READ_ONLY, code="read_only", status=403)


def _clean_text(values: dict, errors: v.Errors) -> None:
    if "name" in values:
        values["name"] = v.clean_name(values["name"], errors)
    description = values.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > DESCRIPTION_MAX):
        errors.add("description", f"Text of at most {DESCRIPTION_MAX} characters.")
    health = values.get("health_path")
    if health and (not isinstance(health, str) or not health.startswith("/") or len(health) > 200):
        errors.add("health_path", "A path starting with /, such as /health.")


def _clean_vram(values: dict, errors: v.Errors) -> None:
    vram = values.get("min_vram_gb")
    if vram is not None and (isinstance(vram, bool) or not isinstance(vram, int | float) or not 0 <= vram <= VRAM_MAX_GB):
        errors.add("min_vram_gb", f"GB of VRAM from 0 to {VRAM_MAX_GB}.")


def clean_template_fields(values: dict) -> dict:
    """Validate the given template fields together; ApplicationError naming every bad field."""
    errors, values = v.Errors(), dict(values)
    _clean_text(values, errors)
    _clean_vram(values, errors)
    if "image" in values:
        values["image"] = v.clean_image(values["image"], errors)
    for field in ("command", "local_command"):
        if field in values:
            values[field] = _clean_argv(values[field], field, errors)
    if "ports" in values:
        values["ports"] = v.clean_ports(values["ports"], errors)
    if "env" in values:
        values["env"] = v.clean_env(values["env"], "env", errors)
    if "disk_gb" in values:
        values["disk_gb"] = v.clean_disk(values["disk_gb"], None, errors)
    errors.raise_if_any()
    return values


def _clean_argv(argv, field: str, errors: v.Errors) -> list[str]:
    # clean_command names its field "command"; move what it found under this field's name.
    scratch = v.Errors()
    argv = v.clean_command(argv, scratch)
    for message in scratch.fields.get("command", []):
        errors.add(field, message)
    return argv


def _unique_slug(workspace, name: str) -> str:
    base = (slugify(name) or "template")[:50]
    taken = set(DeploymentTemplate.objects.filter(workspace=workspace, slug__startswith=base)
                .values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def template_create(*, workspace, user, name, image, description="", command=(), local_command=(), ports=(),
                    env=None, disk_gb=50, min_vram_gb=0, health_path="") -> DeploymentTemplate:
    values = clean_template_fields({"name": name, "description": description, "image": image, "command": command,
                                    "local_command": local_command, "ports": ports, "env": env or {},
                                    "disk_gb": disk_gb, "min_vram_gb": min_vram_gb, "health_path": health_path})
    return _save_new(DeploymentTemplate(workspace=workspace, created_by=user, **values))


def _save_new(template: DeploymentTemplate) -> DeploymentTemplate:
    # Two creates with one name can race for the slug; the unique constraint decides, retry once.
    for attempt in range(2):
        template.slug = _unique_slug(template.workspace, template.name)
        try:
            with transaction.atomic():
                template.save()
            return template
        except IntegrityError:
            if attempt:
                raise
    return template


def template_update(*, template, workspace, **changes) -> DeploymentTemplate:
    """Change a workspace's own template (never a preset or another workspace's)."""
    _refuse_unless_own(template, workspace)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={name: ["Unknown field."] for name in sorted(unknown)})
    for field, value in clean_template_fields(changes).items():
        setattr(template, field, value)
    template.save()
    return template


def template_delete(*, template, workspace) -> None:
    """Deployments made from it keep their copied values (their template link becomes null)."""
    _refuse_unless_own(template, workspace)
    template.delete()


def template_publish(*, template, workspace, user, membership, public: bool) -> DeploymentTemplate:
    """Publish to every workspace (or withdraw): the template's creator or a workspace Admin."""
    _refuse_unless_own(template, workspace)
    if not (membership.allows(Role.ADMIN) or (user.pk and template.created_by_id == user.pk)):
        raise ApplicationError("Only the template's creator or an Admin can publish it to all workspaces.",
                               code="permission_denied", status=403)
    DeploymentTemplate.objects.filter(pk=template.pk).update(is_public=bool(public))
    template.is_public = bool(public)
    return template


def template_launch_defaults(template, provider: str) -> dict:
    """The launch fields a template fills in; the Local provider runs its `local_command`."""
    if template is None:
        return {}
    local = provider == "local" and template.local_command
    return {"name": template.name, "image": template.image, "ports": list(template.ports),
            "command": list(template.local_command if local else template.command),
            "env": dict(template.env), "disk_gb": template.disk_gb}
