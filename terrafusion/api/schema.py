"""OpenAPI: every operation documents the shared error shape for the errors it can answer."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse

from terrafusion.api.exceptions import ErrorSerializer

_ERRORS = {
    "400": "Invalid input: `fields` names each bad field and why.",
    "401": "Not authenticated: no, expired or invalid token.",
    "403": "Authenticated, but no role in the county allows this.",
    "404": "Not found, or in a county you cannot see.",
    "429": "Too many requests (the per-user or per-address rate, repeated failed logins, or too many unfinished "
    "jobs): wait `Retry-After` seconds when given.",
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        wanted = ["401", "403", "429"]  # every endpoint is throttled
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            wanted.append("400")  # a body, or a list's filters and cursor
        if self._is_a_detail_path():
            wanted.append("404")
        for code in wanted:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorSerializer, description=_ERRORS[code]), code
                )
        return responses

    def _is_a_detail_path(self) -> bool:
        return "{" in self.path
