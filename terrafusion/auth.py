"""Authentication endpoints: JWT login, refresh (rotating), logout (one session or all) and who-am-I.

Failed logins are throttled per (username, client address) by the authentication backend
(terrafusion/backends.py) on every login path; here, a refused login answers 429 with Retry-After.
The login's own rate and the API's default rates apply on top. Sessions, their absolute lifetime and
their revocation live in terrafusion/sessions.py.
"""

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError

from counties.models import County
from counties.roles import ROLES
from counties.services import user_county_roles
from terrafusion.api.exceptions import ErrorSerializer
from terrafusion.api.throttling import ScopedRateThrottle
from terrafusion.backends import login_locked, login_window_seconds
from terrafusion.sessions import session_logout, session_refresh, session_start, user_sessions_revoke


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, help_text="The refresh token of the session to end.")
    all = serializers.BooleanField(
        default=False, help_text="End every session of the user (on every device); `refresh` is then optional."
    )

    def validate(self, attrs):
        if not attrs["all"] and not attrs.get("refresh"):
            raise serializers.ValidationError({"refresh": ["Give the refresh token to end, or all: true."]})
        return attrs


class TooManyFailures(exceptions.Throttled):
    default_detail = "Too many failed logins for this account from your address."


class _TokenEndpoint(APIView):
    """Unauthenticated endpoints that answer bad credentials with 401 (DRF would say 403 without this)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class LoginView(_TokenEndpoint):
    """Exchange a username and password for an access token and a refresh token."""

    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(ErrorSerializer),
            429: OpenApiResponse(ErrorSerializer),
        },
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        user = authenticate(request, username=username, password=serializer.validated_data["password"])
        if user is None and login_locked(request, username):
            raise TooManyFailures(wait=login_window_seconds())
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        update_last_login(None, user)
        refresh = session_start(user=user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class RefreshView(_TokenEndpoint):
    """A new access token and a new refresh token; the refresh token given is blacklisted.

    A session ends JWT_SESSION_LIFETIME after its login however often it is refreshed; a refresh token
    can be used once (of two concurrent uses, one is refused with 401).
    """

    @extend_schema(
        request=RefreshSerializer, responses={200: TokenPairSerializer, 401: OpenApiResponse(ErrorSerializer)}
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tokens = session_refresh(refresh=serializer.validated_data["refresh"])
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(f"Refresh token rejected: {exc}.") from None
        return Response(tokens)


class LogoutView(APIView):
    """End a session (blacklist its refresh token), or with `all: true` every session of the user.

    Ending every session also refuses the user's access tokens issued before it.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(request=LogoutSerializer, responses={205: None, 400: OpenApiResponse(ErrorSerializer)})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["all"]:
            user_sessions_revoke(user_id=request.user.pk)
            return Response(status=status.HTTP_205_RESET_CONTENT)
        try:
            session_logout(refresh=serializer.validated_data["refresh"], user=request.user)
        except TokenError as exc:
            raise exceptions.ValidationError({"refresh": [str(exc)]}) from None
        except PermissionError as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return Response(status=status.HTTP_205_RESET_CONTENT)


class CountyAccessSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    is_staff = serializers.BooleanField()
    is_superuser = serializers.BooleanField()
    counties = CountyAccessSerializer(many=True)


class MeView(APIView):
    """The signed-in user, the counties they hold roles in, and what each role lets them do."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        if user.is_superuser:
            roles_by_county = {county_id: ["county_admin"] for county_id in County.objects.values_list("id", flat=True)}
        else:
            roles_by_county = user_county_roles(user)
        counties = County.objects.filter(id__in=roles_by_county, is_active=True).order_by("name")
        data = {
            **{
                f: getattr(user, f)
                for f in ("id", "username", "first_name", "last_name", "email", "is_staff", "is_superuser")
            },
            "counties": [
                {
                    "slug": county.slug,
                    "name": county.name,
                    "roles": roles_by_county[county.id],
                    "permissions": sorted(set().union(*(ROLES[role] for role in roles_by_county[county.id]))),
                }
                for county in counties
            ],
        }
        return Response(MeSerializer(data).data)
