"""County permissions for the API, applied by the base viewsets (never per concrete view).

Reading needs `view_county_data` in some county (else 403); which rows are seen is decided by
`restrict()` (rows of other counties are 404). Writing an object needs the write action in the
object's county (403 when the user can see it but not change it).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from counties.access import county_ids_for, user_can

WRITE_ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def method_action(view, method: str) -> str:
    if method in SAFE_METHODS:
        return "view"
    return getattr(view, "write_action", None) or WRITE_ACTIONS.get(method, "change")


class CountyPermission(BasePermission):
    message = "You do not hold a role that allows this in any county."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        county_ids = county_ids_for(user, method_action(view, request.method))
        return county_ids is None or bool(county_ids)

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True  # the queryset was already restricted to viewable counties
        return user_can(request.user, method_action(view, request.method), getattr(obj, obj.COUNTY_FIELD))
