from django.apps import AppConfig


class DbConfig(AppConfig):
    name = "db"
    label = "db"
    verbose_name = "Zest Store"
    default_auto_field = "django.db.models.BigAutoField"
