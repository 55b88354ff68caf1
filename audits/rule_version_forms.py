"""The rule versions page's forms: a draft's parameters one field per key (typed as the version in force
has them: numbers, yes/no, lists, text), the backtest's range and the day a version takes effect."""

import json
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

DAY_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]
PREFIX = "p__"


def _day_input() -> forms.DateInput:
    """A day typed as the pages show it (dd.mm.yyyy; ISO is accepted too)."""
    return forms.DateInput(
        format="%d.%m.%Y", attrs={"placeholder": gettext_lazy("дд.мм.гггг"), "size": 10, "inputmode": "numeric"}
    )


class BacktestForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("С"), widget=_day_input(), input_formats=DAY_FORMATS)
    date_to = forms.DateField(label=gettext_lazy("По"), widget=_day_input(), input_formats=DAY_FORMATS)


class PublishForm(forms.Form):
    effective_from = forms.DateField(label=gettext_lazy("Действует с"), widget=_day_input(), input_formats=DAY_FORMATS)


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, float | int | Decimal):
        return str(value).replace(".", ",")
    if isinstance(value, str):
        try:
            Decimal(value)
        except InvalidOperation:
            return value
        return value.replace(".", ",")
    return "" if value is None else str(value)


def _number(text: str, like):
    try:
        number = Decimal(text.strip().replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation as exc:
        raise ValidationError(gettext_lazy("Нужно число.")) from exc
    if isinstance(like, int) and number == number.to_integral_value():
        return int(number)
    return float(number) if isinstance(like, float | int) else str(number)


def parse_value(text: str, like):
    """A field's text back to the type the version in force has for that key."""
    if isinstance(like, list | tuple):
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(like, dict):
        try:
            value = json.loads(text or "{}")
        except ValueError as exc:
            raise ValidationError(gettext_lazy("Параметры должны быть объектом JSON.")) from exc
        if not isinstance(value, dict):
            raise ValidationError(gettext_lazy("Параметры должны быть объектом JSON."))
        return value
    if isinstance(like, int | float):
        return _number(text, like)
    if isinstance(like, str):
        try:  # a threshold kept as a decimal string ("0.5") stays one, typed with a comma or a point
            Decimal(like)
        except InvalidOperation:
            return text.strip()
        return _number(text, like)
    return text.strip()


class DraftForm(forms.Form):
    """One field per parameter of `base` (the draft or the version in force), the switch and the reason."""

    enabled = forms.BooleanField(label=gettext_lazy("Правило включено"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Основание изменения"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"size": 70}),
    )

    def __init__(self, *args, base: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.base = dict(base or {})
        for key, value in sorted(self.base.items()):
            if isinstance(value, bool):
                field = forms.BooleanField(label=key, required=False, initial=value)
            else:
                field = forms.CharField(label=key, required=False, initial=_text(value))
            self.fields[PREFIX + key] = field

    def parameter_fields(self):
        return [self[name] for name in self.fields if name.startswith(PREFIX)]

    def clean(self):
        data = super().clean()
        parameters = {}
        for key, like in self.base.items():
            raw = data.get(PREFIX + key)
            if isinstance(like, bool):
                parameters[key] = bool(raw)
                continue
            try:
                parameters[key] = parse_value(raw or "", like)
            except ValidationError as exc:
                self.add_error(PREFIX + key, exc)
        data["parameters"] = parameters
        return data
