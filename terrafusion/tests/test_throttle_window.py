"""The throttles' window counter (one Redis key per throttle and client, one pipeline per check), and what
a warm API request costs in Redis round trips."""

import pytest
import redis.connection
from django.core.cache import cache
from django.urls import reverse

from terrafusion.api.throttling import window_count
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import CountyFactory, PropertyFactory, user_with_role


def _redis():
    key = cache.make_and_validate_key("throttle_test")
    return cache._cache.get_client(key, write=True), key


def test_the_window_starts_at_its_first_request_and_counts_every_request():
    client, key = _redis()
    count, left_ms = window_count("throttle_test", 60)
    assert (count, 59_000 < left_ms <= 60_000) == (1, True)
    count, second_left_ms = window_count("throttle_test", 60)
    assert count == 2 and second_left_ms <= left_ms  # the same window: not lengthened
    assert int(client.get(key)) == 2 and 0 < client.pttl(key) <= 60_000


def test_a_new_window_starts_when_the_old_one_expires():
    client, key = _redis()
    for _ in range(5):
        window_count("throttle_test", 60)
    client.delete(key)  # what expiry does
    assert window_count("throttle_test", 60)[0] == 1


def test_a_counter_left_without_expiry_gets_one_and_never_blocks_for_ever():
    client, key = _redis()
    client.set(key, 99)  # as if the window had expired between SET NX and INCR
    count, left_ms = window_count("throttle_test", 60)
    assert count == 100 and left_ms == 60_000
    assert 0 < client.pttl(key) <= 60_000


@pytest.mark.django_db
def test_retry_after_is_the_time_left_in_the_window_and_the_limit_lifts_with_it(county, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/hour"},
    }
    user = user_with_role(county, "viewer")
    api = bearer_client(user)
    url = reverse("api:county-list")
    assert [api.get(url).status_code for _ in range(3)] == [200, 200, 429]
    client = cache._cache.get_client(write=True)
    key = cache.make_and_validate_key(f"throttle_user_{user.pk}")
    client.pexpire(key, 1_500)  # the window nearly over
    blocked = api.get(url)
    assert blocked.status_code == 429 and blocked["Retry-After"] == "2"  # 1.5 s left, rounded up
    client.delete(key)  # the window over
    assert api.get(url).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_warm_request_makes_two_redis_round_trips(monkeypatch):
    """One MGET (session generation and access version) and one throttle pipeline; nothing per history entry."""
    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")
    prop = PropertyFactory(county=county)
    api = bearer_client(user_with_role(county, "viewer"))
    url = reverse("api:property-detail", args=[prop.pk])
    assert api.get(url).status_code == 200
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    assert api.get(url).status_code == 200
    assert len(sent) == 2, sent
