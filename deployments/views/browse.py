"""The file browser of a deployment's working directory (Local, or remote over SFTP): a folder
listing (an HTMX fragment on the detail page) and downloads. deployments.files does the path
checks; a path outside the folder answers 403, a missing one 404, and an SSH failure is shown as
a message in the browser (a download answers 502 with it)."""

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.http import require_safe

from accounts.decorators import workspace_role_required
from computehub import htmx
from deployments import files, selectors

OUTSIDE = "That path is outside the deployment's folder."


def _folder(deployment):
    try:
        return files.folder_for(deployment)
    except files.Unavailable as exc:
        raise Http404(str(exc)) from None


def _render(request, context):
    return htmx.render_page(request, "deployments/files.html", context, partial="deployments/partials/files.html")


@require_safe
@workspace_role_required
def folder(request, deployment_id):
    deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    path = request.GET.get("path", "")
    context = {"d": deployment, "path": path.strip("/"), "crumbs": files.breadcrumbs(path),
               "max_entries": files.MAX_ENTRIES}
    try:
        entries, cut = _folder(deployment).list_folder(path)
    except files.OutsideRoot:
        raise PermissionDenied(OUTSIDE) from None
    except (FileNotFoundError, NotADirectoryError):
        raise Http404("No such folder.") from None
    except files.RemoteError as exc:
        return _render(request, context | {"error": str(exc)})
    return _render(request, context | {"entries": entries, "cut": cut})


@require_safe
@workspace_role_required
def download(request, deployment_id):
    deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    path = request.GET.get("path", "")
    try:
        handle, _size = _folder(deployment).open_file(path)
    except files.OutsideRoot:
        raise PermissionDenied(OUTSIDE) from None
    except files.TooLarge:
        raise PermissionDenied(f"Files over {files.common.MAX_DOWNLOAD_BYTES // 2**20} MB cannot be downloaded here.") from None
    except files.RemoteError as exc:
        return HttpResponse(str(exc), status=502, content_type="text/plain; charset=utf-8")
    except OSError:  # missing, a folder, or a symlink swapped in after the check (O_NOFOLLOW)
        raise Http404("No such file.") from None
    return FileResponse(handle, as_attachment=True, filename=path.rsplit("/", 1)[-1] or "file")
