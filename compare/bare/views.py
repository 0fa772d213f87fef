"""The two reference views: plain Django, and the same through DRF."""

from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView

BODY = b'{"ok": true}'


def bare(request):
    return HttpResponse(BODY, content_type="application/json")


class BareDrfView(APIView):
    def get(self, request):
        return Response({"ok": True})
