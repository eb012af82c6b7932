"""Authentication: login, refresh rotation, logout, me, throttling, and tokens that must be refused."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from terrafusion.testing.factories import PASSWORD, CountyFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def login(client, username, password=PASSWORD):
    return client.post(reverse("api:auth-login"), {"username": username, "password": password}, format="json")


def me(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(reverse("api:auth-me"))


def test_login_gives_tokens_that_work(viewer, api_client):
    response = login(api_client, "viewer")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert me(body["access"]).json()["username"] == "viewer"


def test_wrong_password_is_401_in_the_error_shape(viewer, api_client):
    response = login(api_client, "viewer", "not-the-password")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "status": 401,
        "code": "authentication_failed",
        "message": "Wrong username or password.",
    }


def test_inactive_user_cannot_log_in(viewer, api_client):
    viewer.is_active = False
    viewer.save()
    assert login(api_client, "viewer").status_code == 401


def test_repeated_failures_get_429_even_with_the_right_password(viewer, api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert login(api_client, "viewer", "guess").status_code == 401
    blocked = login(api_client, "viewer")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["status"] == 429
    assert int(blocked["Retry-After"]) > 0
    # Another account from the same address is not locked out by these failures.
    UserFactory(username="other")
    assert login(api_client, "other").status_code == 200


def test_success_resets_the_failure_count(viewer, api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        login(api_client, "viewer", "guess")
    assert login(api_client, "viewer").status_code == 200
    for _ in range(2):
        login(api_client, "viewer", "guess")
    assert login(api_client, "viewer").status_code == 200


def test_refresh_rotates_and_blacklists_the_old_token(viewer, api_client):
    tokens = login(api_client, "viewer").json()
    refreshed = api_client.post(reverse("api:auth-refresh"), {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()
    assert new["refresh"] != tokens["refresh"]
    assert me(new["access"]).status_code == 200
    again = api_client.post(reverse("api:auth-refresh"), {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert "blacklisted" in again.json()["error"]["message"]


def test_logout_blacklists_the_refresh_token(viewer, api_client):
    tokens = login(api_client, "viewer").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api_client.post(reverse("api:auth-logout"), {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 205
    api_client.credentials()
    refused = api_client.post(reverse("api:auth-refresh"), {"refresh": tokens["refresh"]}, format="json")
    assert refused.status_code == 401


def test_logout_refuses_another_users_refresh_token(viewer, api_client):
    other = UserFactory()
    api_client.force_authenticate(viewer)
    response = api_client.post(
        reverse("api:auth-logout"), {"refresh": str(RefreshToken.for_user(other))}, format="json"
    )
    assert response.status_code == 403


def test_expired_access_token_is_refused(viewer):
    token = AccessToken.for_user(viewer)
    token.set_exp(lifetime=-timedelta(seconds=1))
    response = me(str(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_tampered_signature_is_refused(viewer):
    token = str(AccessToken.for_user(viewer))
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert me(forged).status_code == 401


def test_tampered_payload_is_refused(viewer):
    token = str(AccessToken.for_user(viewer))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(UserFactory(is_superuser=True).pk)
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert me(f"{header}.{forged_payload}.{signature}").status_code == 401


def test_alg_none_is_refused(viewer):
    claims = jwt.decode(str(AccessToken.for_user(viewer)), options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    assert me(unsigned).status_code == 401


def test_token_signed_with_another_key_is_refused(viewer):
    claims = jwt.decode(str(AccessToken.for_user(viewer)), options={"verify_signature": False})
    assert me(jwt.encode(claims, "not-" + settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")).status_code == 401


def test_refresh_token_is_not_an_access_token(viewer):
    assert me(str(RefreshToken.for_user(viewer))).status_code == 401


def test_me_lists_counties_roles_and_permissions(county):
    franklin = CountyFactory(slug="franklin-wa", name="Franklin", fips_code="53021")
    CountyFactory(slug="yakima-wa", name="Yakima", fips_code="53077")  # no role there: not listed
    user = user_with_role(county, "appraiser")
    user = user_with_role(franklin, "viewer", username=user.username)  # the factory set the password anew
    response = me(str(AccessToken.for_user(user)))
    assert response.status_code == 200
    counties = {c["slug"]: c for c in response.json()["counties"]}
    assert set(counties) == {"benton-wa", "franklin-wa"}
    assert counties["benton-wa"]["roles"] == ["appraiser"]
    assert "change_county_data" in counties["benton-wa"]["permissions"]
    assert counties["franklin-wa"]["permissions"] == ["view_county_data"]


def test_me_needs_authentication():
    response = APIClient().get(reverse("api:auth-me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_login_works_for_the_browsable_api(viewer, client):
    assert client.login(username="viewer", password=PASSWORD)
    response = client.get(reverse("api:county-list"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Benton" in response.content


def test_admin_and_api_logins_share_the_lockout(viewer, client, api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    viewer.is_staff = True
    viewer.save()
    for _ in range(3):
        response = client.post(reverse("admin:login"), {"username": "viewer", "password": "guess"})
        assert response.status_code == 200  # the form again, with its error
    # Locked now: the right password no longer signs in, in the admin or through the API.
    client.post(reverse("admin:login"), {"username": "viewer", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert login(api_client, "viewer").status_code == 429


@pytest.mark.parametrize(
    ("make_token", "code", "message"),
    [
        ("inactive", "user_inactive", "User is inactive."),
        ("expired", "token_not_valid", "Token is expired."),
        ("garbage", "token_not_valid", "Token is invalid."),
    ],
)
def test_token_errors_are_plain_sentences_in_the_error_shape(viewer, make_token, code, message):
    token = AccessToken.for_user(viewer)
    if make_token == "inactive":
        viewer.is_active = False
        viewer.save()
    elif make_token == "expired":
        token.set_exp(lifetime=-timedelta(seconds=1))
    raw = "not.a.token" if make_token == "garbage" else str(token)
    response = me(raw)
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "code": code, "message": message}}
    assert "ErrorDetail" not in response.content.decode()
    assert response["WWW-Authenticate"].startswith("Bearer")
