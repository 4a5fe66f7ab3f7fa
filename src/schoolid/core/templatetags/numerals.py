"""Template filters for numbers and dates a person reads (core/numerals.py has the rule):

    {{ count|digits }}  {{ day|ldate }}  {{ day|ldate:"short" }}  {{ moment|ldatetime }}
"""
from django import template

from schoolid.core import numerals

register = template.Library()


@register.filter
def digits(value):
    return numerals.local_digits(value)


@register.filter
def ldate(value, style=""):
    return numerals.format_date(value, short=style == "short")


@register.filter
def ldatetime(value, style=""):
    return numerals.format_datetime(value, short=style == "short")


@register.simple_tag
def localnumber(value):
    return numerals.format_number(value)
