"""Authentication endpoints: JWT login, refresh (rotating), logout (blacklist) and who-am-I.

Failed logins are throttled per (username, client address) by the authentication backend
(terrafusion/backends.py) on every login path; here, a refused login answers 429 with Retry-After.
A general rate limit on this endpoint applies on top.
"""

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from counties.models import County
from counties.roles import ROLES
from counties.services import user_county_roles
from terrafusion.api.exceptions import ErrorSerializer
from terrafusion.backends import login_locked, login_window_seconds


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


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

    throttle_classes = [ScopedRateThrottle]
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
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class RefreshView(_TokenEndpoint):
    """A new access token and a new refresh token; the refresh token given is blacklisted."""

    @extend_schema(
        request=RefreshSerializer, responses={200: TokenPairSerializer, 401: OpenApiResponse(ErrorSerializer)}
    )
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(f"Refresh token rejected: {exc}") from None
        return Response(serializer.validated_data)


class LogoutView(APIView):
    """Blacklist a refresh token, so it can no longer make access tokens."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefreshSerializer, responses={205: None, 400: OpenApiResponse(ErrorSerializer)})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh"])
            if str(token.get("user_id")) != str(request.user.pk):
                raise exceptions.PermissionDenied("That refresh token belongs to another user.")
            token.blacklist()
        except TokenError as exc:
            raise exceptions.ValidationError({"refresh": [str(exc)]}) from None
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
