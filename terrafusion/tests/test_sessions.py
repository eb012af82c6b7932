"""Sessions end: absolute lifetime, revocation on account changes, logout everywhere, one chain per refresh,
deleted users, and the periodic flush of expired tokens."""

import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from counties.roles import group_name
from counties.services import county_delete, user_set_county_roles, user_set_password_link
from terrafusion import sessions
from terrafusion.sessions import SESSION_START_CLAIM, session_start, tokens_flush_expired
from terrafusion.testing.factories import PASSWORD, UserFactory, user_with_role

User = get_user_model()


def login(username="viewer", password=PASSWORD) -> dict:
    response = APIClient().post(reverse("api:auth-login"), {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post(reverse("api:auth-refresh"), {"refresh": token}, format="json")


def me(access: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(reverse("api:auth-me"))


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def assert_session_over(tokens: dict) -> None:
    refused = refresh(tokens["refresh"])
    assert refused.status_code == 401, refused.content
    assert me(tokens["access"]).status_code == 401


# --- absolute lifetime ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_keeps_the_session_start_and_never_outlives_it(viewer, settings):
    settings.JWT_SESSION_LIFETIME = timedelta(hours=1)  # shorter than the refresh lifetime (1 day)
    first = login()
    start = claims(first["refresh"])[SESSION_START_CLAIM]
    assert claims(first["refresh"])["exp"] == start + 3600  # capped at the session's end, not iat + 1 day
    second = refresh(first["refresh"]).json()
    for token in (second["refresh"], second["access"]):
        assert claims(token)[SESSION_START_CLAIM] == start  # copied on rotation, not restarted
        assert claims(token)["exp"] <= start + 3600
    assert OutstandingToken.objects.get(jti=claims(second["refresh"])["jti"]).expires_at.timestamp() == start + 3600


@pytest.mark.django_db
def test_a_refresh_past_the_session_lifetime_is_refused(viewer, settings):
    settings.JWT_SESSION_LIFETIME = timedelta(hours=12)
    token = session_start(user=viewer)  # recorded as outstanding, like a login's
    token.payload[SESSION_START_CLAIM] -= 12 * 3600 + 1  # the session began just over 12 h ago
    response = refresh(str(token))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Refresh token rejected: The session has ended; sign in again."

    token.payload[SESSION_START_CLAIM] += 60  # 11 h 59 m in: still allowed, up to the session's end
    response = refresh(str(token))
    assert response.status_code == 200, response.content
    assert claims(response.json()["refresh"])["exp"] == token[SESSION_START_CLAIM] + 12 * 3600


@pytest.mark.django_db
def test_a_refresh_token_from_before_sessions_had_an_end_is_refused(viewer):
    from rest_framework_simplejwt.tokens import RefreshToken

    old = RefreshToken.for_user(viewer)  # as issued before this deploy: no session start, recorded as outstanding
    response = refresh(str(old))
    assert response.status_code == 401
    assert "from before sessions had an end" in response.json()["error"]["message"]


# --- revocation ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changing_the_password_ends_every_session(viewer):
    sessions_before = [login(), login()]
    viewer.set_password("A-new-passphrase-42")
    viewer.save()
    for tokens in sessions_before:
        assert_session_over(tokens)
    # Ended by us, not only by simplejwt's password-hash claim: every refresh token is on the blacklist.
    assert BlacklistedToken.objects.filter(token__user=viewer).count() == 2
    assert me(login(password="A-new-passphrase-42")["access"]).status_code == 200


@pytest.mark.django_db
def test_resetting_the_password_through_the_link_ends_every_session(viewer, client):
    tokens = login()  # a session on some device; the user forgot the password and gets a reset link
    link = urlsplit(user_set_password_link(User.objects.get(pk=viewer.pk))).path  # as of the login
    form = client.get(link)  # the view swaps the token for a session and redirects to the form
    assert form.status_code == 302
    done = client.post(form.url, {"new_password1": "Horse-Heaven-Hills-99", "new_password2": "Horse-Heaven-Hills-99"})
    assert done.status_code == 302
    assert User.objects.get(pk=viewer.pk).check_password("Horse-Heaven-Hills-99")
    assert_session_over(tokens)
    assert BlacklistedToken.objects.filter(token__jti=claims(tokens["refresh"])["jti"]).exists()


@pytest.mark.django_db
def test_deactivating_the_user_ends_every_session(viewer):
    tokens = login()
    viewer.is_active = False
    viewer.save()
    assert_session_over(tokens)
    assert BlacklistedToken.objects.filter(token__user=viewer).count() == 1
    viewer.is_active = True  # reactivated: the old session stays over
    viewer.save()
    assert refresh(tokens["refresh"]).status_code == 401


@pytest.mark.django_db
def test_other_saves_of_the_user_leave_sessions_alone(viewer):
    tokens = login()
    viewer.first_name = "Renamed"
    viewer.save()
    assert refresh(tokens["refresh"]).status_code == 200


@pytest.mark.django_db
def test_removing_the_last_county_role_ends_every_session(county, other_county, django_capture_on_commit_callbacks):
    user = user_with_role(county, "viewer", username="twocounties")
    user = user_with_role(other_county, "appraiser", username="twocounties")
    tokens = login("twocounties")
    with django_capture_on_commit_callbacks(execute=True):
        user_set_county_roles(user=user, county=county, roles=["analyst"])  # a changed role: not removed
        user_set_county_roles(user=user, county=county, roles=[])  # one county left: still a user
    tokens = {"refresh": refresh(tokens["refresh"]).json()["refresh"], "access": tokens["access"]}
    assert me(tokens["access"]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user_set_county_roles(user=user, county=other_county, roles=[])  # the last role
    assert_session_over(tokens)


@pytest.mark.django_db
def test_the_admin_form_setting_groups_and_a_group_clear_end_sessions_too(county, django_capture_on_commit_callbacks):
    # The admin's user form saves groups with user.groups.set(); a group's member list may be cleared.
    user = user_with_role(county, "viewer", username="formuser")
    user_with_role(county, "viewer", username="member")
    plain_group = Group.objects.create(name="newsletter")
    user.groups.add(plain_group)
    tokens, other_tokens = login("formuser"), login("member")
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.set([plain_group, Group.objects.get(name=group_name(county.slug, "appraiser"))])  # role swap
    assert refresh(tokens["refresh"]).status_code == 200  # removed then added in one set(): still has a role
    tokens = login("formuser")
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.set([plain_group])
    assert_session_over(tokens)
    with django_capture_on_commit_callbacks(execute=True):
        Group.objects.get(name=group_name(county.slug, "viewer")).user_set.clear()
    assert_session_over(other_tokens)


@pytest.mark.django_db
def test_deleting_the_county_of_the_last_role_ends_every_session(
    county, other_county, django_capture_on_commit_callbacks
):
    user_with_role(other_county, "viewer", username="franklinonly")
    user_with_role(county, "viewer", username="bentonstaff")
    gone, stays = login("franklinonly"), login("bentonstaff")
    with django_capture_on_commit_callbacks(execute=True):
        county_delete(county=other_county)  # its role groups go without m2m signals
    assert_session_over(gone)
    assert refresh(stays["refresh"]).status_code == 200


@pytest.mark.django_db
def test_a_superuser_keeps_sessions_when_a_role_goes(county, django_capture_on_commit_callbacks):
    admin = user_with_role(county, "viewer", username="root", is_superuser=True)
    tokens = login("root")
    with django_capture_on_commit_callbacks(execute=True):
        user_set_county_roles(user=admin, county=county, roles=[])
    assert refresh(tokens["refresh"]).status_code == 200  # a superuser sees every county without roles


# --- logout everywhere -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_all_ends_every_session_of_the_user_only(viewer, appraiser):
    laptop, phone, someone_else = login(), login(), login("appraiser")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access']}")
    response = client.post(reverse("api:auth-logout"), {"all": True}, format="json")  # no refresh token needed
    assert response.status_code == 205
    assert_session_over(laptop)
    assert_session_over(phone)
    assert refresh(someone_else["refresh"]).status_code == 200
    assert me(login()["access"]).status_code == 200  # signing in again works at once


@pytest.mark.django_db
def test_logout_ends_the_whole_chain_even_a_token_a_racing_refresh_just_issued(viewer):
    laptop, phone = login(), login()
    rotated = refresh(laptop["refresh"]).json()  # a refresh of the laptop's token won the race to the lock
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['access']}")
    response = client.post(reverse("api:auth-logout"), {"refresh": laptop["refresh"]}, format="json")
    assert response.status_code == 205, response.content
    assert refresh(rotated["refresh"]).status_code == 401  # the successor is ended with its session
    assert refresh(phone["refresh"]).status_code == 200  # another session of the user is not


@pytest.mark.django_db
def test_logout_needs_a_refresh_token_or_all(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.post(reverse("api:auth-logout"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"refresh": ["Give the refresh token to end, or all: true."]}


# --- one live chain per refresh token ---------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_of_one_token_make_one_chain(monkeypatch):
    user = UserFactory(username="racer")
    token = login("racer")["refresh"]
    # Hold the winner inside its transaction long enough for the other request to arrive and wait.
    recorded = sessions._outstand

    def slow_outstand(*args, **kwargs):
        recorded(*args, **kwargs)
        time.sleep(0.5)

    monkeypatch.setattr(sessions, "_outstand", slow_outstand)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def attempt(index: int) -> None:
        try:
            barrier.wait()
            response = refresh(token)
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(status for status, _ in results) == [200, 401], results
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 401)
    assert "blacklisted" in loser["error"]["message"]
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    assert [t.jti for t in live] == [claims(winner["refresh"])["jti"]]


# --- deleted users, flushing ------------------------------------------------------------------------


@pytest.mark.django_db
def test_refreshing_the_token_of_a_deleted_user_is_401(viewer):
    tokens = login()
    viewer.delete()
    response = refresh(tokens["refresh"])
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Refresh token rejected: The user of this token no longer exists."
    assert me(tokens["access"]).status_code == 401


@pytest.mark.django_db
def test_expired_tokens_are_flushed_by_the_periodic_job(viewer):
    from rq import cron

    from terrafusion import cron as schedule

    registered = {job["name"]: job for job in cron._job_data_registry if job["func"] is schedule.tokens_flush_expired}
    assert registered["tokens_flush_expired"]["interval"] > 0

    live = session_start(user=viewer)
    expired = [session_start(user=viewer) for _ in range(2)]
    past = timezone.now() - timedelta(seconds=1)
    OutstandingToken.objects.filter(jti__in=[t["jti"] for t in expired]).update(expires_at=past)
    BlacklistedToken.objects.create(token=OutstandingToken.objects.get(jti=expired[0]["jti"]))
    assert tokens_flush_expired() == 3  # two outstanding tokens and one blacklist row
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert not BlacklistedToken.objects.exists()
