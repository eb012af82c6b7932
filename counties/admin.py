"""Admin for counties: a county admin (manage_county) edits their county; only superusers add or delete counties."""

from django import forms
from django.contrib import admin

from counties.config import GENERATOR_SETTINGS, ConfigError, county_settings_validate
from counties.models import County
from counties.roles import MANAGE
from counties.services import county_delete, county_sync_role_groups
from terrafusion.admin import CountyScopedAdmin, json_block


class CountyAdminForm(forms.ModelForm):
    """The County form: `settings` must pass the same rules as setup_county's (counties.config), whole."""

    class Meta:
        model = County
        fields = (
            "name",
            "slug",
            "state",
            "fips_code",
            "timezone",
            "is_active",
            "working_roll_year",
            "certified_roll_year",
            "settings",
        )

    def clean_settings(self):
        # Unlike county.yaml, nothing is merged over the defaults here: what the form shows is what is stored, so
        # `{}` or a missing key is refused rather than silently replacing a county's limits with the defaults.
        submitted = self.cleaned_data.get("settings")
        if isinstance(submitted, dict):
            stored = (self.instance.settings if self.instance.pk else None) or {}
            forged = [key for key in GENERATOR_SETTINGS if submitted.get(key) != stored.get(key)]
            if forged:
                raise forms.ValidationError(
                    f"settings.{forged[0]}: written only by generate_demo_county; it cannot be set or changed here."
                )
        try:
            return county_settings_validate(settings=submitted)
        except ConfigError as exc:
            raise forms.ValidationError(exc.problems) from None


@admin.register(County)
class CountyAdmin(CountyScopedAdmin):
    form = CountyAdminForm
    change_action = MANAGE
    list_display = (
        "name",
        "slug",
        "state",
        "fips_code",
        "working_roll_year",
        "certified_roll_year",
        "is_active",
    )
    list_filter = ("state", "is_active")
    search_fields = ("name", "slug", "fips_code")
    fieldsets = (
        (None, {"fields": ("name", "slug", "state", "fips_code", "timezone", "is_active")}),
        ("Roll years", {"fields": ("working_roll_year", "certified_roll_year")}),
        ("Settings", {"fields": ("settings",)}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        readonly = ["created_at", "updated_at"]
        if obj is not None:
            # The role groups are named `<slug>:<role>`: renaming the slug would orphan them.
            readonly.append("slug")
        if not request.user.is_superuser:
            # Identity and activation are the platform's call: deactivating a county removes everyone's access.
            readonly += ["fips_code", "is_active"]
        if obj is not None and not self.has_change_permission(request, obj):
            readonly.append("settings_display")
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only viewers see the settings JSON indented rather than on one line.
            return [
                (name, {**opts, "fields": tuple("settings_display" if f == "settings" else f for f in opts["fields"])})
                for name, opts in fieldsets
            ]
        return fieldsets

    @admin.display(description="settings")
    def settings_display(self, obj) -> str:
        return json_block(obj.settings)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Every county, however it is created, gets its six role groups with their permissions.
            county_sync_role_groups(counties=[obj])

    def delete_model(self, request, obj):
        county_delete(county=obj)

    def delete_queryset(self, request, queryset):
        for county in queryset:
            county_delete(county=county)
