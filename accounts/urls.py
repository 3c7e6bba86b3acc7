from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import api_key_views, two_factor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", two_factor_views.LoginView.as_view(), name="login"),
    path("login/verify/", two_factor_views.login_verify, name="login-verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("organizations/switch/", views.switch_organization, name="switch-organization"),
    path("profile/", views.profile, name="profile"),
    path("profile/contact-methods/", views.contact_method_add, name="contact-method-add"),
    path(
        "profile/contact-methods/<uuid:pk>/delete/",
        views.contact_method_delete,
        name="contact-method-delete",
    ),
    path(
        "profile/contact-methods/<uuid:pk>/test/",
        views.contact_method_test,
        name="contact-method-test",
    ),
    path("profile/rules/", views.rule_add, name="notification-rule-add"),
    path("profile/rules/<uuid:pk>/delete/", views.rule_delete, name="notification-rule-delete"),
    path("profile/quiet-hours/", views.quiet_hours, name="quiet-hours"),
    path("profile/two-factor/", two_factor_views.setup, name="two-factor-setup"),
    path(
        "profile/two-factor/recovery-codes/",
        two_factor_views.recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path("profile/two-factor/disable/", two_factor_views.disable, name="two-factor-disable"),
    path("settings/api-keys/", api_key_views.api_keys, name="api-keys"),
    path(
        "settings/api-keys/<uuid:pk>/revoke/", api_key_views.api_key_revoke, name="api-key-revoke"
    ),
]
