"""Helpers for admin tests: staff users with a county role, signed-in clients, changelist contents."""

from django.test import Client

from terrafusion.testing.factories import user_with_role


def staff(county, role: str, username: str):
    return user_with_role(county, role, username=username, is_staff=True)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def changelist_ids(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}
