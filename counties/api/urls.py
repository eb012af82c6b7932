from rest_framework.routers import SimpleRouter

from counties.api.views import CountyViewSet

router = SimpleRouter(trailing_slash=True)
router.register("counties", CountyViewSet, basename="county")
urlpatterns = router.urls
