from reporting.models import ReportJob
from terrafusion.jobs.api import JobViewSet


class ReportJobViewSet(JobViewSet):
    queryset = ReportJob.objects.all()
