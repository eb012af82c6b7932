from django.urls import reverse

from terrafusion.testing.api import EndpointContract


class TestCountyList(EndpointContract):
    is_list = True

    def make_target(self, county):
        return county

    def url(self, target):
        return reverse("api:county-list")


class TestCountyDetail(EndpointContract):
    def make_target(self, county):
        return county

    def url(self, target):
        return reverse("api:county-detail", args=[target.pk])

    def check_allowed_response(self, response, target):
        assert response.json()["fips_code"] == target.fips_code
