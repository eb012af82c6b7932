"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django's RedisCacheClient.get_client() makes a new `redis.Redis` for every cache call, and a new client
builds its table of ~150 response callbacks: measured on the API's detail request (two cache calls: the
session check and the throttle counter), that was 8% of its profile. A `redis.Redis` holds no state of
its own besides its pool, and the pool is thread-safe and resets itself in a forked child, so one client
per pool serves every thread of the process.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # pool -> its client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
