"""County RBAC contracts for every route of every declared job kind, and the rules all kinds share."""

import pytest
from django.urls import reverse

from terrafusion.jobs.registry import job_kinds
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role
from terrafusion.testing.jobs import job_kind_contracts, least_role_with

for _kind in job_kinds():
    globals().update(job_kind_contracts(_kind))

KINDS = [pytest.param(kind, id=kind.slug) for kind in job_kinds()]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_starting_a_job_does_not_reveal_which_counties_exist(kind, county, other_county):
    client = bearer_client(user_with_role(county, least_role_with(kind.run_codename)))
    url = reverse(f"api:{kind.slug}-job-list")
    hidden = client.post(url, {"county": other_county.slug}, format="json")
    missing = client.post(url, {"county": "atlantis-wa"}, format="json")
    assert hidden.status_code == missing.status_code == 403
    assert "Franklin" not in hidden.content.decode()
    assert hidden.json()["error"]["message"].replace("franklin-wa", "X") == missing.json()["error"]["message"].replace(
        "atlantis-wa", "X"
    )
    assert not kind.model.objects.exists()
