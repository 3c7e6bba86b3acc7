"""Atom/RSS feeds parse; badges are SVG."""

import xml.etree.ElementTree as ET

from statuspages import services

from .conftest import age_page

ATOM = "{http://www.w3.org/2005/Atom}"


def test_atom_and_rss_feeds_parse(client, setup_a):
    services.publish_incident(
        None, setup_a.page, name="Feed <incident> & co", message="First *update*",
        components=[setup_a.api],
    )  # fmt: skip
    atom = client.get(f"/status/{setup_a.page.slug}/history.atom")
    assert atom.status_code == 200 and "atom+xml" in atom["Content-Type"]
    root = ET.fromstring(atom.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert entries[0].find(f"{ATOM}title").text.startswith("Feed <incident> & co")
    rss = client.get(f"/status/{setup_a.page.slug}/history.rss")
    assert rss.status_code == 200 and "rss+xml" in rss["Content-Type"]
    channel = ET.fromstring(rss.content).find("channel")
    items = channel.findall("item")
    assert len(items) == 1 and "<em>update</em>" in items[0].find("description").text


def _svg(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def test_badges_are_svg(client, setup_a):
    base = f"/status/{setup_a.page.slug}"
    age_page(setup_a)
    services.calculate_uptime(days=5)
    root = _svg(client.get(f"{base}/badge.svg"))
    assert "all systems operational" in root.get("aria-label")
    assert _svg(client.get(f"{base}/uptime.svg")).get("aria-label") == "uptime 90d: 100.00%"
    services.set_component_status(setup_a.api, "major_outage")
    assert "major system outage" in _svg(client.get(f"{base}/badge.svg")).get("aria-label")
    component = _svg(client.get(f"{base}/components/{setup_a.api.pk}/badge.svg"))
    assert component.get("aria-label") == f"{setup_a.api.name}: major outage"
    _svg(client.get(f"{base}/components/{setup_a.api.pk}/uptime.svg"))


def test_component_badge_of_another_page_is_404(client, setup_a, setup_b):
    url = f"/status/{setup_a.page.slug}/components/{setup_b.api.pk}/badge.svg"
    assert client.get(url).status_code == 404
