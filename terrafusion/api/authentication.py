"""JWT authentication that finds the token's user without a database query on most requests.

simplejwt's JWTAuthentication reads the user row on every request. This subclass keeps each user's
row per process, valid for one access version (counties/access.py): any change of a user (active flag,
password, superuser or staff flag, any other field but last_login), a deletion, or any other access
change moves the version on after it commits, so the next request reads the row again. The version
comes from the same Redis MGET that reads the session generation (SessionAccessToken.verify).

The checks simplejwt makes on the row (active, password unchanged since the token) run on every
request, on the cached row as on a fresh one. Each request gets its own user instance, so nothing a
request stores on its user (the per-request county ids) leaks into another.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from counties.access import VersionedCache, access_version, caching_allowed

_UNREAD = object()
_users = VersionedCache()  # user id -> the row's field values (a tuple, in concrete field order)


class CachedJWTAuthentication(JWTAuthentication):
    """JWTAuthentication with the user row cached per process, checked against the access version."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        if not caching_allowed():
            return super().get_user(validated_token)
        version = getattr(validated_token, "access_version", _UNREAD)
        if version is _UNREAD:
            version = access_version()  # a token class that did not read it with the session generation
        user = self._cached_user(version, user_id)
        if user is None:
            user = super().get_user(validated_token)  # the query, and simplejwt's checks on the row
            _users.set(version, user_id, _row_of(user))
        else:
            self._check(user, validated_token)
        user.__dict__["_access_version"] = version  # county_ids_for reuses it: no second read this request
        return user

    def _cached_user(self, version, user_id):
        row = _users.get(version, user_id)
        if row is None:
            return None
        user_model = get_user_model()
        return user_model.from_db("default", [field.attname for field in user_model._meta.concrete_fields], row)

    def _check(self, user, validated_token) -> None:
        """simplejwt's checks in get_user, on a cached row."""
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")


def _row_of(user) -> tuple:
    return tuple(getattr(user, field.attname) for field in user._meta.concrete_fields)


class CachedJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme: the same bearer JWT as simplejwt's (drf-spectacular matches exact classes)."""

    target_class = CachedJWTAuthentication
