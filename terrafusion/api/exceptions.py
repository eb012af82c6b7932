"""One error shape for the whole API: {"error": {"status", "code", "message", "fields"}}.

`fields` maps each bad input field to its reasons (400s); `message` is one sentence a person can
act on. Django's own ValidationError (raised by services and model validation) becomes a 400 too.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = ErrorBodySerializer()


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this."
    default_code = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "The resource existed and was deleted."
    default_code = "gone"


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["reason", ...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def _codes(detail):
    if isinstance(detail, dict):
        return next((_codes(v) for v in detail.values()), "invalid")
    if isinstance(detail, list):
        return next((_codes(v) for v in detail), "invalid")
    return getattr(detail, "code", "invalid")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _code_and_message(exc) -> tuple[str, str]:
    """The code and a plain sentence for a non-validation error, whatever the shape of its detail.

    simplejwt's errors carry a dict ({"detail", "code", "messages": [{"message", ...}]}) that str()
    would show as Python repr; its most specific reason (why the token was refused) is the message.
    """
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    default_code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict):
        reasons = [str(m["message"]) for m in detail.get("messages") or [] if isinstance(m, dict) and "message" in m]
        message = "; ".join(dict.fromkeys(reasons)) or str(detail.get("detail") or getattr(exc, "default_detail", ""))
        return str(detail.get("code") or default_code), _sentence(message)
    if isinstance(detail, list):
        code = getattr(detail[0], "code", None) if detail else None
        return str(code or default_code), _sentence(" ".join(str(item) for item in detail))
    return str(getattr(detail, "code", None) or default_code), str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging take over
    body = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        body["code"] = _codes(exc.detail)
        first_field, reasons = next(iter(fields.items()))
        where = "" if first_field == "non_field_errors" else f"{first_field}: "
        body["message"] = f"Invalid input. {where}{reasons[0]}"
        body["fields"] = fields
    else:
        body["code"], body["message"] = _code_and_message(exc)
    headers = {k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
    return Response({"error": body}, status=response.status_code, headers=headers)


def _error_page(request, status: int, code: str, message: str, html_handler):
    """Under /api/, the error shape; elsewhere (admin, docs), Django's own page."""
    from django.http import JsonResponse

    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"status": status, "code": code, "message": message}}, status=status)
    return html_handler()


def not_found(request, exception=None):
    from django.views import defaults

    return _error_page(request, 404, "not_found", "Not found.", lambda: defaults.page_not_found(request, exception))


def server_error(request):
    from django.views import defaults

    return _error_page(
        request,
        500,
        "server_error",
        "The server failed to answer; the error was logged. Try again, or report it with the time.",
        lambda: defaults.server_error(request),
    )
