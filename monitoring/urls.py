from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("<str:token>", views.heartbeat, name="heartbeat"),
    path("<str:token>/fail", views.heartbeat, {"fail": True}, name="heartbeat-fail"),
]
