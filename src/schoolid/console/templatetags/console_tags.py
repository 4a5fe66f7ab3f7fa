from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, [])


@register.filter
def mask_national_id(value):
    from schoolid.directory.services import mask_national_id as mask

    return mask(value or "")
