"""The file browser of a Local deployment's working directory: a folder listing (an HTMX fragment
on the detail page) and downloads. deployments.files does the path checks; a path outside the
folder answers 403, a missing one 404."""

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from accounts.decorators import workspace_role_required
from computehub import htmx
from deployments import files, selectors


def _root(request, deployment_id):
    deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    try:
        return deployment, files.browser_root(deployment)
    except files.Unavailable as exc:
        raise Http404(str(exc)) from None


@require_safe
@workspace_role_required
def folder(request, deployment_id):
    deployment, root = _root(request, deployment_id)
    path = request.GET.get("path", "")
    try:
        entries, cut = files.list_folder(root, path)
    except files.OutsideRoot:
        raise PermissionDenied("That path is outside the deployment's folder.") from None
    except (FileNotFoundError, NotADirectoryError):
        raise Http404("No such folder.") from None
    context = {"d": deployment, "entries": entries, "cut": cut, "path": path.strip("/"),
               "crumbs": files.breadcrumbs(path), "max_entries": files.MAX_ENTRIES}
    return htmx.render_page(request, "deployments/files.html", context, partial="deployments/partials/files.html")


@require_safe
@workspace_role_required
def download(request, deployment_id):
    _, root = _root(request, deployment_id)
    path = request.GET.get("path", "")
    try:
        handle, _size = files.open_file(root, path)
    except files.OutsideRoot:
        raise PermissionDenied("That path is outside the deployment's folder.") from None
    except files.TooLarge:
        raise PermissionDenied(f"Files over {files.MAX_DOWNLOAD_BYTES // 2**20} MB cannot be downloaded here.") from None
    except OSError:  # missing, a folder, or a symlink swapped in after the check (O_NOFOLLOW)
        raise Http404("No such file.") from None
    return FileResponse(handle, as_attachment=True, filename=path.rsplit("/", 1)[-1] or "file")
