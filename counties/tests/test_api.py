from terrafusion.testing.api import EndpointContract


class TestCountyList(EndpointContract):
    route = "api:county-list"
    is_list = True

    def make_target(self, county):
        return county


class TestCountyDetail(EndpointContract):
    route = "api:county-detail"

    def make_target(self, county):
        return county

    def check_allowed_response(self, response, target):
        assert response.json()["fips_code"] == target.fips_code
