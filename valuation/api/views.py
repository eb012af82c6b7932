"""Valuation results: listed and filtered for review, each value explained; a completed job's results applied."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from counties.roles import CERTIFY
from terrafusion.api.exceptions import Conflict, ErrorSerializer
from terrafusion.api.viewsets import CountyScopedReadOnlyViewSet, CountyScopedViewSetMixin
from valuation.api.serializers import (
    ValuationAppliedSerializer,
    ValuationApplySerializer,
    ValuationExplanationSerializer,
    ValuationResultSerializer,
)
from valuation.filtersets import ValuationResultFilterSet
from valuation.models import ValuationJob, ValuationResult
from valuation.services import ApplyRefused, ValuationError, result_explain, valuation_apply


class ValuationResultViewSet(CountyScopedReadOnlyViewSet):
    """Valuation results: each parcel's estimate, land and improvement split, range and change from its current
    value, with review flags. Filter by job, neighborhood, change and flag."""

    queryset = ValuationResult.objects.select_related("property", "property__neighborhood")
    serializer_class = ValuationResultSerializer
    filterset_class = ValuationResultFilterSet
    search_fields = ["property__parcel_number"]

    @extend_schema(responses={200: ValuationExplanationSerializer, 409: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["get"])
    def explanation(self, request, pk=None):
        """Why the parcel has this value, computed now from the model kept with the job: each hedonic term's
        contribution, the gradient-boosted model's per-feature contributions, or the comparables grid."""
        result = self.get_object()
        try:
            return Response(result_explain(result))
        except ValuationError as exc:
            raise Conflict(str(exc)) from None


class ValuationApplyViewSet(CountyScopedViewSetMixin, viewsets.GenericViewSet):
    """Apply a completed valuation job's results: needs `certify_values` in the job's county."""

    queryset = ValuationJob.objects.select_related("county")
    write_action = CERTIFY
    serializer_class = ValuationApplySerializer

    @extend_schema(
        request=ValuationApplySerializer,
        responses={200: ValuationAppliedSerializer, 400: OpenApiResponse(ErrorSerializer),
                   409: OpenApiResponse(ErrorSerializer)},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Write the job's results (all, or those the filter chooses) as the parcels' `valuation` values of the roll
        year and their current values, audited in your name and the job's. A certified roll year changes only with
        `overwrite_certified`; applying again changes nothing."""
        job = self.get_object()  # 404 outside the user's counties; 403 without certify_values in the job's county
        given = ValuationApplySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        results = ValuationResult.objects.filter(county_id=job.county_id, job=job)
        chosen = ValuationResultFilterSet(data=given.validated_data["filter"], queryset=results)
        unknown = set(given.validated_data["filter"]) - set(chosen.filters)
        if unknown:
            raise ValidationError({"filter": [f"Unknown filter: {', '.join(sorted(unknown))}."]})
        if not chosen.is_valid():
            raise ValidationError({"filter": chosen.errors})
        try:
            applied = valuation_apply(
                job=job, results=chosen.qs, user=request.user,
                overwrite_certified=given.validated_data["overwrite_certified"],
            )  # fmt: skip
        except ApplyRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(ValuationAppliedSerializer(applied).data)
