"""The county dashboard on the admin's home page: a county's figures, its latest ratio study with its verdict, its
price trend and its jobs, for those who may view it; nothing of it for a user of another county. Also in a real
browser (Debian's chromium through Playwright)."""

import shutil

import pytest
from django.core.cache import cache
from django.utils import timezone

from counties.models import County
from market_analysis.models import MarketAnalysisJob
from properties.demo import demo_county_generate
from properties.models import Property
from reporting.models import ReportJob
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.factories import CountyFactory, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def county(db):
    cache.clear()
    demo_county_generate(slug="demo", parcels=200, seed=12, working_year=2026)
    county = County.objects.get(slug="demo")
    MarketAnalysisJob.objects.create(
        county=county, status=JobStatus.COMPLETED, finished_at=timezone.now(),
        parameters={"analysis": "ratio_study"},
        result={"roll_year": 2026, "overall": {"n": 140, "median": 0.9712, "cod": 17.24, "prd": 1.012, "prb": -0.01,
                "standards": {"median": True, "cod": False, "prd": True, "prb": True}}},
    )  # fmt: skip
    ReportJob.objects.create(county=county, status=JobStatus.RUNNING, progress_message="writing the XLSX")
    return county


def test_the_dashboard_shows_where_each_county_stands(county, client):
    client.force_login(user_with_role(county, "viewer", username="viewer", is_staff=True))
    page = client.get("/admin/").content.decode()
    assert "Where your counties stand" in page and "Demo County" in page
    parcels = Property.objects.filter(county=county, is_active=True).count()
    assert f'<td class="parcels">{parcels}</td>' in page
    assert "median 0.971, COD 17.2" in page and "fails" in page and "COD" in page  # COD above 15
    assert "<polyline" in page  # the price trend
    assert "writing the XLSX" in page and "/admin/reporting/reportjob/" in page  # the running job, linked


def test_a_user_of_another_county_sees_none_of_it(county, client):
    elsewhere = CountyFactory(slug="franklin-wa", name="Franklin County")
    client.force_login(user_with_role(elsewhere, "viewer", username="stranger", is_staff=True))
    page = client.get("/admin/").content.decode()
    assert "Franklin County" in page and "Demo County" not in page and "writing the XLSX" not in page


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by `make test` (scripts/test-tools.sh)")
def test_the_dashboard_in_a_real_browser(county, live_server, client):
    from playwright.sync_api import sync_playwright

    client.force_login(user_with_role(county, "viewer", username="viewer", is_staff=True))
    session = client.cookies["sessionid"].value
    parcels = Property.objects.filter(county=county, is_active=True).count()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/")
        card = page.locator('.card[data-county="demo"]')
        assert card.locator(".parcels").inner_text() == str(parcels)
        assert "fails" in card.inner_text()
        assert card.locator("svg polyline").count() == 1
        card.locator("ul.jobs a").first.click()
        page.wait_for_url("**/admin/reporting/reportjob/**")
        browser.close()
