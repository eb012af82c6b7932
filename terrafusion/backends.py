"""Authentication backend that throttles failed logins on every login path.

JWT login, the admin and the browsable API all authenticate through here, so they share one
failure counter per (username, client address). Each attempt is counted before the password is
checked (an atomic INCR in the shared cache, so parallel guesses cannot slip past the limit) and a
success clears the count; past LOGIN_FAILURE_LIMIT within LOGIN_FAILURE_WINDOW, attempts are
refused whatever the password. The JWT login answers those with 429.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from rest_framework.throttling import BaseThrottle


def _key(request, username: str) -> str:
    client = BaseThrottle().get_ident(request)  # honours NUM_PROXIES behind a proxy
    return "login-attempts:" + hashlib.sha256(f"{username.lower()}|{client}".encode()).hexdigest()


def login_window_seconds() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW.total_seconds())


def login_locked(request, username: str) -> bool:
    """Whether logins for `username` from this client are refused now."""
    return (cache.get(_key(request, username)) or 0) > settings.LOGIN_FAILURE_LIMIT


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        key = _key(request, username)
        cache.add(key, 0, timeout=login_window_seconds())
        if cache.incr(key) > settings.LOGIN_FAILURE_LIMIT:
            raise PermissionDenied("Too many failed logins.")  # stops every backend: no password check
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            cache.delete(key)
        return user
