from reporting.api.views import ReportJobViewSet
from terrafusion.jobs.api import job_urlpatterns

urlpatterns = job_urlpatterns(ReportJobViewSet)
