"""Status pages in the responder app (logged in); see statuspages/responder_views.py."""

from django.urls import path

from statuspages import responder_views as views

urlpatterns = [
    path("status-pages/", views.status_page_list, name="status-page-list"),
    path(
        "incidents/<uuid:pk>/status-page/",
        views.publish_from_incident,
        name="status-page-publish-from-incident",
    ),
    path(
        "incidents/<uuid:pk>/status-page/components/",
        views.publish_components,
        name="status-page-publish-components",
    ),
    path(
        "incidents/<uuid:pk>/status-page/<uuid:published_pk>/updates/",
        views.update_from_incident,
        name="status-page-update-from-incident",
    ),
]
