"""The operators' admin speaks Japanese: every model, field, column and filter of the app's own
models, and of django-axes (login throttling), has a Japanese label (only Django's automatic
「ID」 stays as it is)."""

import re

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, label_for_field
from django.db import models

APPS = ["hrmos", "candidates", "line_integration", "messaging", "customforms", "axes"]
ENGLISH = re.compile(r"[\x00-\x7f]*")  # nothing but ASCII: an English (or untranslated) label
ALLOWED = {"ID"}


def english(label: object) -> bool:
    text = str(label)
    return text not in ALLOWED and ENGLISH.fullmatch(text) is not None


def model_labels(model: type[models.Model]) -> dict[str, object]:
    labels: dict[str, object] = {
        "(model)": model._meta.verbose_name,
        "(plural)": model._meta.verbose_name_plural,
    }
    for field in model._meta.get_fields():
        if field.concrete:
            labels[field.name] = field.verbose_name
    return labels


def admin_labels(model: type[models.Model], model_admin: admin.ModelAdmin) -> dict[str, object]:
    labels: dict[str, object] = {}
    for column in model_admin.list_display:
        if isinstance(column, str):
            labels[f"column {column}"] = label_for_field(column, model, model_admin)
    for path in model_admin.list_filter:
        if isinstance(path, str):
            labels[f"filter {path}"] = get_fields_from_path(model, path)[-1].verbose_name
    return labels


def test_every_model_and_field_of_the_app_has_a_japanese_label():
    found = {
        f"{model.__name__}.{name}": str(label)
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        for name, label in model_labels(model).items()
        if english(label)
    }
    assert found == {}


def test_every_admin_column_and_filter_has_a_japanese_label():
    registered = [
        (model, model_admin) for model, model_admin in admin.site._registry.items() if model._meta.app_label in APPS
    ]
    assert len(registered) >= 15
    found = {
        f"{model.__name__} {name}": str(label)
        for model, model_admin in registered
        for name, label in admin_labels(model, model_admin).items()
        if english(label)
    }
    assert found == {}


def test_every_admin_section_has_a_japanese_heading():
    headings = {str(apps.get_app_config(model._meta.app_label).verbose_name) for model in admin.site._registry}
    assert {heading for heading in headings if english(heading)} == set()
