from django.urls import path
from rest_framework.routers import SimpleRouter

from valuation.api.views import ValuationApplyViewSet, ValuationResultViewSet

router = SimpleRouter(trailing_slash=True)
# Not "valuation/results/": the seed gateway's alias of a job's results lives there (`valuation/results/<job id>`).
router.register("valuation/estimates", ValuationResultViewSet, basename="valuation-estimate")
urlpatterns = [
    *router.urls,
    path(
        "valuation/jobs/<uuid:pk>/apply/",
        ValuationApplyViewSet.as_view({"post": "apply"}),
        name="valuation-job-apply",
    ),
]
