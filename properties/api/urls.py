from rest_framework.routers import SimpleRouter

from properties.api.views import PropertyViewSet, SaleViewSet

router = SimpleRouter(trailing_slash=True)
router.register("properties", PropertyViewSet, basename="property")
router.register("sales", SaleViewSet, basename="sale")
urlpatterns = router.urls
