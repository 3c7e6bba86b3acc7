import socket

from monitoring.checks.ping import check_ping
from monitoring.checks.tcp import check_tcp

from .conftest import run
from .servers import free_port


def test_open_port_is_up_with_connect_time():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(check_tcp("127.0.0.1", port, timeout_s=2, allow_private=True))
    assert result.status == "up", result.reason
    assert result.reason.startswith(f"port {port} open on 127.0.0.1")
    assert result.details["connect_ms"] == result.response_time_ms
    assert result.details["resolved_ip"] == "127.0.0.1"


def test_closed_port_is_down():
    port = free_port()  # bound then closed: nothing listens there now
    result = run(check_tcp("127.0.0.1", port, timeout_s=2, allow_private=True))
    assert result.status == "down"
    assert result.reason == f"connection refused to 127.0.0.1:{port}"


def test_degraded_threshold_zero_marks_any_connect_slow():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(
            check_tcp("127.0.0.1", port, degraded_after_ms=-1, timeout_s=2, allow_private=True)
        )
    assert result.status == "degraded"
    assert "slow" in result.reason


def test_ping_loopback_auto_reports_method():
    result = run(check_ping("127.0.0.1", count=2, timeout_s=3, allow_private=True))
    assert result.status == "up", result.reason
    assert result.details["method"] in ("icmp-unprivileged", "icmp-privileged", "tcp")
    assert result.details["received"] == 2
    assert result.details["packet_loss_pct"] == 0


def test_ping_tcp_probe_open_and_refused_both_prove_host_alive():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        opened = run(
            check_ping("127.0.0.1", method="tcp", tcp_ports=[port], count=2, allow_private=True)
        )
    assert opened.status == "up"
    assert opened.details["method"] == "tcp"
    assert opened.details["tcp_outcomes"] == [f"{port}:open", f"{port}:open"]
    assert "TCP probe" in opened.reason

    closed = free_port()
    refused = run(
        check_ping("127.0.0.1", method="tcp", tcp_ports=[closed], count=1, allow_private=True)
    )
    assert refused.status == "up"
    assert refused.details["tcp_outcomes"] == [f"{closed}:refused"]


def test_ping_unprivileged_icmp_falls_back_to_tcp_when_not_permitted():
    with open("/proc/sys/net/ipv4/ping_group_range") as handle:
        low, high = (int(v) for v in handle.read().split())
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(
            check_ping(
                "127.0.0.1",
                method="icmp-unprivileged",
                tcp_ports=[port],
                count=1,
                allow_private=True,
            )
        )
    if low <= 0 <= high:  # unprivileged ICMP allowed for root's group: ICMP answers
        assert result.details["method"] == "icmp-unprivileged"
        assert result.status == "up"
    else:
        # "icmp-unprivileged" alone has no fallback: says so clearly instead of crashing.
        assert result.status == "down"
        assert result.reason == "cannot ping 127.0.0.1: ICMP not permitted on this worker"
        assert result.details["fallback_reasons"][0].startswith("icmp-unprivileged:")


def test_ping_refuses_loopback_by_default():
    result = run(check_ping("127.0.0.1", allow_private=False))
    assert result.status == "down"
    assert result.reason == "target address 127.0.0.1 is loopback; not allowed"
