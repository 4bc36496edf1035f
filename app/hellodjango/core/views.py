import logging

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from pymongo.errors import PyMongoError

import hellodjango

from . import mongo

logger = logging.getLogger(__name__)


@require_safe
def index(request):
    return render(
        request,
        "core/index.html",
        {"release_id": settings.RELEASE_ID, "version": hellodjango.__version__},
    )


@never_cache
@require_safe
def healthz_live(request):
    """
    Report that this process serves requests: always 200 {"status": "alive"}.
    The load balancer's rotation check: it touches no database, session,
    template or cookie, so a MongoDB outage does not take every backend out of
    rotation (/healthz, which pings MongoDB, is the deploy's readiness check).
    """
    return JsonResponse({"status": "alive"})


@never_cache
@require_safe
def healthz(request):
    """
    Report whether MongoDB answers: 200 {"status": "ok"} or
    503 {"status": "unavailable", "error": "<exception class>"}.
    The driver's short server selection timeout bounds the response time.
    """
    try:
        mongo.ping()
    except PyMongoError as exc:
        logger.warning(
            "Health check failed: MongoDB at %s: %s",
            mongo.describe_target(),
            mongo.describe_error(exc),
        )
        return JsonResponse({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok"})
