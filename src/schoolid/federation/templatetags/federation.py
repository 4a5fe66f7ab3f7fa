"""{% federation_buttons %} on the sign-in page and {% linked_providers %} on the account page: the
lower floors' templates load this tag library, their code never imports federation."""
from django import template

from schoolid.federation import selectors

register = template.Library()


@register.inclusion_tag("federation/_buttons.html", takes_context=True)
def federation_buttons(context):
    return {"providers": selectors.enabled_providers(), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("federation/_linked.html", takes_context=True)
def linked_providers(context):
    user = context["request"].user
    return {"links": list(selectors.links_of(user)) if user.is_authenticated else [], "csrf_token": context.get("csrf_token")}
