from rest_framework.routers import SimpleRouter

from ingestion.api.views import UploadViewSet

router = SimpleRouter(trailing_slash=True)
router.register("ingestion/uploads", UploadViewSet, basename="ingestion-upload")
urlpatterns = router.urls
