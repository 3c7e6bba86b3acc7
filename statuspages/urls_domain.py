"""URLconf for a request whose Host is a page's custom domain (see statuspages.middleware)."""

from django.urls import include, path

from statuspages.urls import page_patterns

urlpatterns = [path("", include((page_patterns(""), "statuspages")))]
