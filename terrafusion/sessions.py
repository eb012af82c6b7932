"""Sessions end: a refresh chain has an absolute lifetime, rotates at most once per token, and can be revoked.

A session starts at login. Its refresh tokens carry the start time (`auth_time`), copied forward on
every rotation, so no chain outlives JWT_SESSION_LIFETIME however often it is refreshed, and no token
of the chain (access or refresh) expires after that end.

Revoking a user's sessions blacklists every outstanding refresh token of theirs and moves the user's
session generation on (a counter in the shared cache, copied into each token at login and rotation), so
access tokens issued before it are refused as well. It happens on logout with
`{"all": true}`, and, through the signal receivers below (connected in TerrafusionConfig.ready), when
the password changes or is reset, the user is deactivated, or the user loses their last county role.
simplejwt itself refuses access tokens of an inactive user (CHECK_USER_IS_ACTIVE) or of a changed
password (CHECK_REVOKE_TOKEN).

Rotation and revocation both lock the user's row first, then the token rows, so a refresh racing a
revocation (or another refresh of the same token) is serialised: one live chain, never two.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, datetime_to_epoch, get_md5_hash_password

from counties.access import ACCESS_VERSION_KEY, access_version_start

SESSION_START_CLAIM = "auth_time"  # the OpenID Connect name for "when the user signed in"
SESSION_ID_CLAIM = "sid"  # the OpenID Connect name for a session: one login and its chain of rotated tokens
GENERATION_CLAIM = "session_gen"


def _generation_key(user_id) -> str:
    return f"session-generation:{user_id}"


def _generation(user_id) -> int:
    """How many times the user's sessions were revoked (0 if never, or if the cache lost it)."""
    return cache.get(_generation_key(user_id), 0)


def session_end(payload: dict) -> datetime:
    """When the session of a token ends: its start + JWT_SESSION_LIFETIME."""
    return datetime_from_epoch(payload[SESSION_START_CLAIM]) + settings.JWT_SESSION_LIFETIME


class SessionAccessToken(AccessToken):
    """An access token that is refused once its user's sessions were revoked after it was issued."""

    def verify(self) -> None:
        super().verify()
        # One MGET per request: the session generation, and the access version that the API's cached user and
        # county ids are checked against (terrafusion/api/authentication.py, counties/access.py).
        user_id = self.payload.get(api_settings.USER_ID_CLAIM)
        found = cache.get_many([_generation_key(user_id), ACCESS_VERSION_KEY])
        self.access_version = found.get(ACCESS_VERSION_KEY)
        if self.access_version is None:
            access_version_start()  # nothing is cached under no version; the next request caches again
        # A counter rather than a time: a token of the very second of a revocation is judged right either way.
        # Every token a login or a refresh issues has the claim; one without it was minted directly
        # (simplejwt's AccessToken.for_user in tests and the bench) and is left to its expiry.
        generation = self.payload.get(GENERATION_CLAIM)
        if generation is not None and generation < found.get(_generation_key(user_id), 0):
            raise TokenError("This session has been ended; sign in again")


class SessionRefreshToken(RefreshToken):
    """A refresh token that carries its session's start and never expires after the session's end."""

    access_token_class = SessionAccessToken

    def __init__(self, token=None, verify: bool = True) -> None:
        super().__init__(token, verify)
        if token is None:  # a new session (login)
            self.payload[SESSION_START_CLAIM] = datetime_to_epoch(self.current_time)
            self.payload[SESSION_ID_CLAIM] = uuid.uuid4().hex
            self.set_exp()

    @classmethod
    def for_user(cls, user) -> "SessionRefreshToken":
        token = super().for_user(user)
        token[GENERATION_CLAIM] = _generation(user.pk)
        return token

    def set_exp(self, claim: str = "exp", from_time=None, lifetime=None) -> None:
        super().set_exp(claim, from_time, lifetime)
        if claim == "exp" and SESSION_START_CLAIM in self.payload:
            self.payload["exp"] = min(self.payload["exp"], datetime_to_epoch(session_end(self.payload)))

    @property
    def access_token(self) -> SessionAccessToken:
        access = super().access_token
        access.payload["exp"] = min(access.payload["exp"], datetime_to_epoch(session_end(self.payload)))
        return access


def _locked_user_of(token: SessionRefreshToken):
    """The token's user, row-locked, or TokenError when it may no longer have tokens."""
    user_model = get_user_model()
    user_id = token.payload.get(api_settings.USER_ID_CLAIM)
    user = user_model.objects.select_for_update().filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None:
        raise TokenError("The user of this token no longer exists")
    if not api_settings.USER_AUTHENTICATION_RULE(user):
        raise TokenError("User is inactive")
    if api_settings.CHECK_REVOKE_TOKEN and token.payload.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        raise TokenError("The user's password has been changed")
    return user


def session_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token: blacklist it and issue the next access and refresh token of its session.

    Raises TokenError (with a sentence for the client) when the token is invalid, expired, already
    used, its session has ended or its user may no longer sign in. Of two concurrent refreshes of one
    token, the one that takes the lock second finds the token blacklisted and is refused.
    """
    token = SessionRefreshToken(refresh)  # signature, expiry, type, blacklist (checked again under the lock)
    if SESSION_START_CLAIM not in token.payload or SESSION_ID_CLAIM not in token.payload:
        # Issued before sessions had an end: rotating it would extend it for ever.
        raise TokenError("This token is from before sessions had an end; sign in again")
    with transaction.atomic():
        user = _locked_user_of(token)
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=token[api_settings.JTI_CLAIM]).first()
        if outstanding is None:
            raise TokenError("Token is invalid")  # every refresh token we issue is recorded at issue
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            raise TokenError("Token is blacklisted")
        if token.current_time >= session_end(token.payload):
            raise TokenError("The session has ended; sign in again")
        BlacklistedToken.objects.create(token=outstanding)
        token.set_jti()
        token.set_iat()
        token.set_exp()
        token[GENERATION_CLAIM] = _generation(user.pk)
        _outstand(token, user)
    return {"access": str(token.access_token), "refresh": str(token)}


def _outstand(token: SessionRefreshToken, user) -> None:
    OutstandingToken.objects.create(
        user=user,
        jti=token[api_settings.JTI_CLAIM],
        token=str(token),
        created_at=token.current_time,
        expires_at=datetime_from_epoch(token["exp"]),
    )


def session_start(*, user) -> SessionRefreshToken:
    """A new session for a signed-in user: its first refresh token (recorded as outstanding)."""
    return SessionRefreshToken.for_user(user)


@transaction.atomic
def user_sessions_revoke(*, user_id: int) -> int:
    """End every session of a user now; returns how many refresh tokens were blacklisted."""
    get_user_model().objects.select_for_update().filter(pk=user_id).first()  # waits out a rotation in flight
    now = timezone.now()
    live = OutstandingToken.objects.filter(user_id=user_id, expires_at__gt=now, blacklistedtoken__isnull=True)
    blacklisted = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in live.values_list("pk", flat=True)], ignore_conflicts=True
    )
    # Access tokens are not in the database: those of earlier generations are refused (SessionAccessToken).
    cache.add(_generation_key(user_id), 0, timeout=None)
    cache.incr(_generation_key(user_id))
    return len(blacklisted)


@transaction.atomic
def session_logout(*, refresh: str, user) -> int:
    """End the session a refresh token belongs to: every live refresh token of its chain, under the user's lock.

    A refresh of the same token racing the logout holds that lock first, so the token it issued is found and
    ended too: a logout never leaves a live successor behind. Returns how many tokens were blacklisted;
    TokenError when the token is not a valid refresh token, PermissionError when it is another user's.
    """
    try:
        payload = _token_backend().decode(refresh, verify=True)  # signature and expiry; not whether it was used
    except TokenBackendError as exc:
        raise TokenError(str(exc)) from None
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != SessionRefreshToken.token_type:
        raise TokenError("Token has wrong type")
    if str(payload.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise PermissionError("That refresh token belongs to another user.")
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # waits out a rotation in flight
    session_id, jti = payload.get(SESSION_ID_CLAIM), payload.get(api_settings.JTI_CLAIM)
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    ended = [
        outstanding.pk
        for outstanding in live  # a user has a handful of live tokens: one per session and device
        if outstanding.jti == jti or (session_id is not None and _session_id_of(outstanding) == session_id)
    ]
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token_id=pk) for pk in ended], ignore_conflicts=True)
    return len(ended)


def _token_backend():
    from rest_framework_simplejwt.state import token_backend

    return token_backend


def _session_id_of(outstanding: OutstandingToken) -> str | None:
    """The session of a token we issued and recorded (read from our own table: no signature to check)."""
    return _token_backend().decode(outstanding.token, verify=False).get(SESSION_ID_CLAIM)


def tokens_flush_expired() -> int:
    """Delete expired outstanding tokens (and their blacklist rows), as simplejwt's flushexpiredtokens does."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


# --- Revocation on account changes -----------------------------------------------------------------


def _is_role_group(name: str) -> bool:
    from counties.roles import ROLES

    slug, _, role = name.rpartition(":")
    return bool(slug) and role in ROLES


def _revoke_if_roleless_after_commit(user_ids: set[int]) -> None:
    """After the change commits (a `groups.set()` removes before it adds), revoke users left without a role."""

    def check() -> None:
        from counties.services import user_county_roles

        for user in get_user_model().objects.filter(pk__in=user_ids, is_superuser=False):
            if not user_county_roles(user):
                user_sessions_revoke(user_id=user.pk)

    if user_ids:
        transaction.on_commit(check)


def _user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    instance._end_sessions = False
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. update_last_login at every login: nothing that ends sessions
    old = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if old is None:
        return
    instance._end_sessions = old["password"] != instance.password or (old["is_active"] and not instance.is_active)


def _user_post_save(sender, instance, created=False, raw=False, **kwargs) -> None:
    if getattr(instance, "_end_sessions", False):
        instance._end_sessions = False
        user_sessions_revoke(user_id=instance.pk)


def _user_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if action not in ("pre_remove", "pre_clear"):
        return
    if reverse:  # group.user_set.remove(...) / .clear(): instance is the group
        if not _is_role_group(instance.name):
            return
        user_ids = (
            set(pk_set)
            if pk_set is not None
            else set(sender.objects.filter(group_id=instance.pk).values_list("user_id", flat=True))
        )
    else:  # user.groups.remove(...) / .clear() / .set(): instance is the user
        groups = Group.objects.filter(pk__in=pk_set) if pk_set is not None else instance.groups.all()
        if not any(_is_role_group(name) for name in groups.values_list("name", flat=True)):
            return
        user_ids = {instance.pk}
    _revoke_if_roleless_after_commit(user_ids)


def _group_pre_delete(sender, instance, **kwargs) -> None:
    # Deleting a role group (a county deleted) drops its memberships without m2m signals.
    if _is_role_group(instance.name):
        _revoke_if_roleless_after_commit(set(instance.user_set.values_list("pk", flat=True)))


def connect_signals() -> None:
    """Connect the receivers that end sessions on account changes (called once from TerrafusionConfig.ready)."""
    user_model = get_user_model()
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="terrafusion.sessions.user_pre_save")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="terrafusion.sessions.user_post_save")
    m2m_changed.connect(
        _user_groups_changed, sender=user_model.groups.through, dispatch_uid="terrafusion.sessions.groups_changed"
    )
    pre_delete.connect(_group_pre_delete, sender=Group, dispatch_uid="terrafusion.sessions.group_pre_delete")
