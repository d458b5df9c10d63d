"""Which address a request is counted under, and the limit syntax of the settings."""

from __future__ import annotations

import pytest

from tenantry.ratelimit.client_ip import client_address, parse_networks
from tenantry.ratelimit.rules import Rule, SendLimit, parse_rule

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1, fd00::/8")


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_address("198.51.100.4", ["203.0.113.9"], PROXIES) == "198.51.100.4"
    assert client_address("198.51.100.4", ["203.0.113.9"], []) == "198.51.100.4"
    assert client_address("127.0.0.1", ["203.0.113.9"], []) == "127.0.0.1"


def test_forwarded_for_is_read_from_the_right_past_trusted_hops_only() -> None:
    assert client_address("127.0.0.1", ["203.0.113.9"], PROXIES) == "203.0.113.9"
    # The client may write anything on the left; only what our proxies appended counts.
    assert client_address("10.0.0.2", ["6.6.6.6, 203.0.113.9, 10.0.0.1"], PROXIES) == "203.0.113.9"
    # Several headers are one list, in order.
    assert client_address("10.0.0.2", ["6.6.6.6", "203.0.113.9"], PROXIES) == "203.0.113.9"
    # Only trusted hops: the leftmost one is the client.
    assert client_address("10.0.0.2", ["10.0.0.7, 10.0.0.1"], PROXIES) == "10.0.0.7"
    # Garbage beyond our proxies: the last address a trusted hop vouched for.
    assert client_address("10.0.0.2", ["not-an-ip, 10.0.0.1"], PROXIES) == "10.0.0.1"
    # No header: the proxy itself.
    assert client_address("10.0.0.2", [], PROXIES) == "10.0.0.2"


def test_ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert client_address("2001:db8:1:2:aaaa::1", [], []) == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:2:bbbb::9", [], []) == "2001:db8:1:2::/64"
    assert client_address("::ffff:198.51.100.4", [], []) == "198.51.100.4"
    assert client_address("fd00::1", ["[2001:db8::5]"], PROXIES) == "2001:db8::/64"


def test_a_peer_that_is_no_ip_is_counted_by_name() -> None:
    assert client_address("testclient", ["203.0.113.9"], PROXIES) == "testclient"
    assert client_address(None, [], PROXIES) == "unknown"


@pytest.mark.parametrize(
    ("text", "rule"),
    [("10/60s", Rule(10, 60)), ("10/60", Rule(10, 60)), (" 300 / 1m ", Rule(300, 60)), ("5/2h", Rule(5, 7200))],
)
def test_rules_parse(text: str, rule: Rule) -> None:
    assert parse_rule(text) == rule


@pytest.mark.parametrize("text", ["off", "OFF", "0", ""])
def test_rules_switch_off(text: str) -> None:
    assert parse_rule(text) is None


@pytest.mark.parametrize("text", ["10", "10/0s", "0/60s", "ten/60s", "10/60d", "-1/60s"])
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(text)


def test_recipients_are_normalised_per_channel() -> None:
    class Body:
        email_address = "  Someone@Clinic.COM "
        phone_number = "+1 (415) 555-0100"

    assert SendLimit("email", lambda b: b.email_address).recipient_key(Body()) == "someone@clinic.com"
    assert SendLimit("sms", lambda b: b.phone_number).recipient_key(Body()) == "+14155550100"
    assert SendLimit("sms", lambda b: None).recipient_key(Body()) is None
    # No number in the body: counted under the fallback, never mixed up with a number.
    assert (
        SendLimit("sms", lambda b: None, fallback=lambda b: "org/member").recipient_key(Body()) == "fallback:org/member"
    )
