from django.apps import AppConfig


class StatuspagesConfig(AppConfig):
    name = "statuspages"
