"""What browsers and crawlers ask for on their own: /favicon.ico and /robots.txt, answered cheaply.

Anonymous, no database, no session: a permanent redirect to the static SVG icon and a robots.txt
that keeps crawlers out of the whole portal.
"""

from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ROBOTS = "User-agent: *\nDisallow: /\n"


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request):
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@require_safe
@cache_control(public=True, max_age=86400)
def robots(request):
    return HttpResponse(ROBOTS, content_type="text/plain; charset=utf-8")
