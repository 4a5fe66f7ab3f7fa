# Bangladesh writes day/month/year and a 24-hour clock on official forms.
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
DATETIME_FORMAT = "j F, Y H:i"
