import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from computehub.api.errors import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    """JSON with a body-size cap. DRF reads the stream directly, so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE alone would not stop an oversized body."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > limit:
            raise PayloadTooLarge()
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # Deeply nested arrays ("[[[[…") exhaust the decoder's stack; that is bad input, not a 500.
            raise ParseError("JSON parse error - nested too deeply.") from None
