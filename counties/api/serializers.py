from rest_framework import serializers

from counties.models import County


class CountySerializer(serializers.ModelSerializer):
    class Meta:
        model = County
        fields = ["id", "slug", "name", "state", "fips_code", "timezone", "working_roll_year", "certified_roll_year"]
