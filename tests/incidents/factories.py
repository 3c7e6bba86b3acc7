"""Small builders for incident-response tests (real rows, no mocks)."""

from accounts.models import Organization, OrganizationMember, User, UserContactMethod
from accounts.roles import Role
from incidents.models import EscalationPolicy, EscalationRule, EscalationTarget, Service


def member(
    organization: Organization, email: str, role: str = Role.RESPONDER, reachable: bool = True
) -> User:
    """A member of ``organization``; ``reachable`` gives them an e-mail contact method."""
    user = User.objects.create_user(email, "correct horse battery", full_name=email.split("@")[0])
    OrganizationMember.objects.create(organization=organization, user=user, role=role)
    if reachable:
        UserContactMethod.objects.create(user=user, method_type="email", value=email)
    return user


def policy(
    organization: Organization, levels: list[list], repeat_count: int = 0, name: str = "Default"
) -> EscalationPolicy:
    """``levels``: per level, a list of targets (User, OnCallSchedule or TeamGroup)."""
    created = EscalationPolicy.objects.create(
        organization=organization, name=name, repeat_count=repeat_count
    )
    for position, targets in enumerate(levels):
        rule = EscalationRule.objects.create(
            organization=organization, policy=created, position=position, delay_minutes=10
        )
        for target in targets:
            kind = {"User": "user", "OnCallSchedule": "schedule", "TeamGroup": "team"}[
                type(target).__name__
            ]
            EscalationTarget.objects.create(
                organization=organization, rule=rule, target_type=kind, **{kind: target}
            )
    return created


def service(organization: Organization, escalation_policy=None, **fields) -> Service:
    return Service.objects.create(
        organization=organization,
        name=fields.pop("name", "API"),
        escalation_policy=escalation_policy,
        **fields,
    )
