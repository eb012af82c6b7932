"""Authorisation cached per process, never stale: every access change is seen by the very next request.

The end-to-end test runs gunicorn (deploy/gunicorn.conf.py, one worker, so every request meets the cache
the previous one warmed) on the test database and Redis, and makes each change here, in the test
process. The in-process tests show what a warm request costs and how the cache behaves in transactions.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from counties.access import ACCESS_VERSION_KEY, access_changed, county_ids_for
from counties.models import CountyUserObjectPermission
from counties.services import user_set_county_roles
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, PropertyFactory, UserFactory, user_with_role
from terrafusion.testing.workers import worker_environment
from terrafusion.tests.test_metrics import GUNICORN_CONF, free_port, http_get, stop, wait_listening

BASE = Path(__file__).resolve().parents[2]
AUTH_TABLES = ("auth_user", "auth_group", "objectpermission")  # the user, memberships, guardian rows


def _token(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_each_access_change_is_seen_by_the_very_next_request_in_another_process(tmp_path):
    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    other = CountyFactory(slug="franklin-wa", name="Franklin", fips_code="53021")
    mine, theirs = PropertyFactory(county=county), PropertyFactory(county=other)
    user = user_with_role(county, "viewer", username="cached")
    token = _token(user)

    port = free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        web = subprocess.Popen(
            [Path(sys.executable).parent / "gunicorn", "-c", GUNICORN_CONF, "terrafusion.wsgi"],
            env={
                **worker_environment(PROMETHEUS_MULTIPROC_DIR=str(tmp_path)),
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "1",
            },
            cwd=BASE,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_listening(port, web, "gunicorn", log)

            def status(prop, with_token=None) -> int:
                url = f"http://127.0.0.1:{port}{reverse('api:property-detail', args=[prop.pk])}"
                return http_get(url, token=with_token or token)[0]

            assert status(mine) == 200  # warms the worker's user and county-id caches
            assert status(theirs) == 404

            # The server answers from its cache: a change that bypasses the model signals is not seen...
            memberships = type(user).groups.through.objects.filter(user=user)
            saved = list(memberships.values_list("group_id", flat=True))
            memberships.delete()  # a QuerySet delete of the through rows: no m2m_changed, no bump
            assert status(mine) == 200
            access_changed()  # ...until the version moves on (autocommit: at once)
            assert status(mine) == 403
            user.groups.add(*saved)
            assert status(mine) == 200

            # A role in another county (group membership added through the service).
            user_set_county_roles(user=user, county=other, roles=["viewer"])
            assert status(theirs) == 200

            # A role taken away.
            user_set_county_roles(user=user, county=other, roles=[])
            assert status(theirs) == 404

            # A member removed from the role group, from the group's side.
            Group.objects.get(name="benton-wa:viewer").user_set.remove(user)
            assert status(mine) == 403
            user_set_county_roles(user=user, county=county, roles=["viewer"])
            assert status(mine) == 200

            # A direct guardian permission on a County, then its removal.
            direct = CountyUserObjectPermission.objects.create(
                user=user,
                content_object=other,
                permission=CountyUserObjectPermission._meta.get_field("permission").related_model.objects.get(
                    codename="view_county_data"
                ),
            )
            assert status(theirs) == 200
            direct.delete()
            assert status(theirs) == 404

            # The county deactivated: its rows are closed to its users.
            county.is_active = False
            county.save()
            assert status(mine) == 403
            county.is_active = True
            county.save()
            assert status(mine) == 200

            # Superuser granted: every county.
            user.is_superuser = True
            user.save()
            assert status(theirs) == 200
            user.is_superuser = False
            user.save()
            assert status(theirs) == 404

            # The user deactivated: the cached row is not used, the token is refused.
            user.is_active = False
            user.save()
            assert status(mine) == 401
            user.is_active = True
            user.save()
            token = _token(user)  # deactivation ended the user's sessions
            assert status(mine, token) == 200

            # The password changed: tokens from before it are refused.
            user.set_password("a new password 123")
            user.save()
            assert status(mine, token) == 401
            assert status(mine, _token(user)) == 200

            # The user deleted.
            fresh = _token(user)
            user.delete()
            assert status(mine, fresh) == 401
        finally:
            stop(web)
    assert web.returncode == 0, log.read_text()[-3000:]


@pytest.mark.django_db(transaction=True)
def test_a_warm_request_reads_no_user_group_or_county_row():
    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    prop = PropertyFactory(county=county)
    client = bearer_client(user_with_role(county, "viewer"))
    url = reverse("api:property-detail", args=[prop.pk])
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]  # the property itself
    assert not any(table in queries[0]["sql"] for table in AUTH_TABLES)


@pytest.mark.django_db(transaction=True)
def test_changes_bump_the_version_only_when_they_commit():
    from django.core.cache import cache

    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    assert cache.get(ACCESS_VERSION_KEY) is not None  # creating the county (and its role groups) bumped it
    user = UserFactory()
    before = cache.get(ACCESS_VERSION_KEY)
    with transaction.atomic():
        user_set_county_roles(user=user, county=county, roles=["viewer"])
        assert cache.get(ACCESS_VERSION_KEY) == before  # not before the commit
        # Inside the transaction its own uncommitted role is seen, and not cached for anyone else.
        assert county_ids_for(user, "view") == frozenset({county.pk})
    assert cache.get(ACCESS_VERSION_KEY) > before

    try:
        with transaction.atomic():
            user_set_county_roles(user=user, county=county, roles=[])
            version = cache.get(ACCESS_VERSION_KEY)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert cache.get(ACCESS_VERSION_KEY) == version  # a rolled-back change bumps nothing...
    fresh = type(user).objects.get(pk=user.pk)
    assert county_ids_for(fresh, "view") == frozenset({county.pk})  # ...and nothing it read was cached


@pytest.mark.django_db(transaction=True)
def test_a_lost_version_disables_the_cache_and_restarts_above_any_earlier_version():
    from django.core.cache import cache

    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    prop = PropertyFactory(county=county)
    client = bearer_client(user_with_role(county, "viewer"))
    url = reverse("api:property-detail", args=[prop.pk])
    old = cache.get(ACCESS_VERSION_KEY)
    cache.delete(ACCESS_VERSION_KEY)  # Redis restarted without its data
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 1  # no version: nothing cached is trusted
    assert cache.get(ACCESS_VERSION_KEY) > old
