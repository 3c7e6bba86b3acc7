from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Alert24 administration"
admin.site.site_title = "Alert24 admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("alert24.api_urls")),
    path("", include("incidents.urls")),
    path("status/", include("statuspages.urls")),
    path("hb/", include("monitoring.urls")),
    path("", include("incidents.ui_urls")),
    path("", include("monitoring.ui_urls")),
    path("", include("statuspages.responder_urls")),
    path("", include("accounts.urls")),
]
