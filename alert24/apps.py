from django.apps import AppConfig


class Alert24Config(AppConfig):
    name = "alert24"
    verbose_name = "Alert24 platform"
