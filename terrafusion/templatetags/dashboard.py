from django import template
from django.utils.safestring import mark_safe

from terrafusion.dashboard import panels

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_panels(context) -> str:
    """Every registered dashboard panel for the request's user (each escapes its own content)."""
    return mark_safe("".join(panels(context["request"])))  # noqa: S308 - the panels render their own templates
