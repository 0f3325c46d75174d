"""HTMX helpers: one view answers both the full page and its fragment.

A fragment response also carries the request's flash messages as an out-of-band swap into
`#toasts`, wrapped in <template> so it survives being parsed next to a table row.
"""

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRedirect


def is_partial(request) -> bool:
    """A boosted request wants the whole page; only targeted HTMX requests want a fragment."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def render_page(request, template: str, context=None, *, partial: str | None = None, status: int = 200):
    if partial and is_partial(request):
        return render_fragment(request, partial, context, status=status)
    return render(request, template, context, status=status)


def render_fragment(request, template: str | None, context=None, *, status: int = 200) -> HttpResponse:
    """`template` None answers an empty body, which swaps the target away (e.g. a removed row)."""
    body = render_to_string(template, context, request=request) if template else ""
    return HttpResponse(body + render_to_string("partials/toasts_oob.html", request=request), status=status)


def redirect(request, url: str) -> HttpResponse:
    """HTMX follows a plain 302 inside its XHR and swaps the result in place; make it navigate."""
    if is_partial(request):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)
