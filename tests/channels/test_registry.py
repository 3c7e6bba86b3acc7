import pytest

from incidents.channels import CHANNEL_KINDS, Channel, DeliveryResult, deliver, get_channel


@pytest.mark.parametrize("kind", sorted(CHANNEL_KINDS))
def test_every_kind_builds_a_channel(kind):
    channel = get_channel(kind)
    assert isinstance(channel, Channel)
    assert channel.kind == kind


def test_contact_method_types_all_have_a_channel():
    from accounts.models import UserContactMethod

    assert set(UserContactMethod.MethodType.values) <= set(CHANNEL_KINDS)


def test_unknown_kind():
    with pytest.raises(ValueError, match="Unknown notification channel"):
        get_channel("pigeon")


def test_deliver_turns_a_crash_into_a_recorded_failure(message):
    result = deliver("webhook", "https://example.com/hook", message, unexpected_option=1)
    assert result == DeliveryResult.failed("internal error: TypeError", retryable=False)


def test_result_helpers():
    assert DeliveryResult.sent("id-1").ok
    assert not DeliveryResult.failed("x", retryable=True).ok
    skipped = DeliveryResult.skipped("Twilio is not configured")
    assert (skipped.status, skipped.skipped_reason, skipped.ok) == (
        "skipped",
        "Twilio is not configured",
        False,
    )
