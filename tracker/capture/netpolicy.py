"""Which addresses the tracker may fetch from (the fetch policy).

A declaration names a URL; nothing stops it (or a redirect, or a DNS answer) from pointing at the machine
the tracker runs on, its private network or a cloud metadata service that hands out credentials. So:

- **always refused**: link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata services
  (169.254.169.254, fd00:ec2::254, fd20:ce::254, 100.100.100.200, 192.0.0.192, and names such as
  ``metadata.google.internal``), whatever the settings;
- **refused unless allowed**: every other address that is not globally reachable: private (10/8,
  172.16/12, 192.168/16, fc00::/7), loopback (127/8, ::1), unspecified (0.0.0.0, ::), CGNAT
  (100.64/10), reserved, documentation, benchmarking and multicast ranges. ``allow_private = true`` in a
  declaration, the CLI's ``--allow-private`` or ``POLICY_TRACKER_ALLOW_PRIVATE=1`` allow them (the demo
  and the tests serve pages from 127.0.0.1).

The check is made on the addresses a name resolves to (every one of them: a name that resolves to one
public and one private address is refused), so odd spellings of an address (``0x7f000001``,
``2130706433``, ``127.1``, ``[::ffff:127.0.0.1]``) are caught like the plain ones. IPv6 forms that embed
an IPv4 address (mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, the old
IPv4-compatible ``::a.b.c.d``) are judged by that IPv4 address too. The fetcher then connects to the very
address it checked (see :mod:`tracker.capture.fetch`), so a name that answers differently a moment later (DNS
rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading

ALLOW_PRIVATE_ENV = "POLICY_TRACKER_ALLOW_PRIVATE"

# Cloud metadata services: refused even when private addresses are allowed (most are link-local anyway).
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle, ...
    "169.254.170.2",  # AWS ECS task credentials
    "169.254.0.23",  # Tencent Cloud
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud Classic
    "fd00:ec2::254",  # AWS (IPv6)
    "fd00:ec2::23",  # AWS (IPv6, EKS pod identity)
    "fd20:ce::254",  # GCP (IPv6)
))
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
    "metadata.azure.internal", "metadata.tencentyun.com", "metadata.platformequinix.com",
})
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A host or address the policy does not allow. ``always`` is True for link-local/metadata ones."""

    def __init__(self, host: str, address: str | None, why: str, always: bool) -> None:
        self.host = host
        self.address = address
        self.why = why
        self.always = always
        what = host if address is None or address == host else f"{host} ({address})"
        hint = "" if always else (" (allow it with allow_private = true in the declaration, --allow-private "
                                  f"or {ALLOW_PRIVATE_ENV}=1)")
        super().__init__(f"refused to fetch from {what}: {why}{hint}")


def env_flag(name: str, environ: dict | None = None) -> bool:
    """An environment variable set to 1/true/yes/on."""
    value = (environ if environ is not None else os.environ).get(name, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_allows_private(environ: dict | None = None) -> bool:
    """``POLICY_TRACKER_ALLOW_PRIVATE`` set to 1/true/yes/on."""
    return env_flag(ALLOW_PRIVATE_ENV, environ)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify(ip: IPAddress) -> tuple[str, bool] | None:
    """Why ``ip`` is not an ordinary public address, and whether it is always refused; None if it is one."""
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        candidates.insert(0, inner)  # judged as the IPv4 address it reaches first
    for candidate in candidates:
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address (always refused)", True
        if any(candidate in net for net in LINK_LOCAL if net.version == candidate.version):
            return "a link-local address (always refused)", True
    for candidate in candidates:
        if candidate.is_loopback:
            return "a loopback address", False
        if candidate.is_unspecified:
            return "an unspecified address", False
        if candidate.is_multicast:
            return "a multicast address", False
        if candidate.version == 4 and candidate in ipaddress.ip_network("100.64.0.0/10"):
            return "a carrier-grade NAT address", False
        if candidate.is_private:
            return "a private address", False
        if not candidate.is_global:
            return "not a globally reachable address", False
    return None


def parse_ip(text: str) -> IPAddress | None:
    """An address written the standard way (brackets and an IPv6 zone allowed), else None."""
    text = text.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def check_name(host: str) -> None:
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in METADATA_NAMES:
        raise Refused(host, None, "a cloud metadata name (always refused)", True)


def check_address(host: str, address: str, *, allow_private: bool) -> None:
    ip = parse_ip(address)
    if ip is None:  # getaddrinfo gave something we cannot read: do not guess
        raise Refused(host, address, "an address that cannot be checked", True)
    why = classify(ip)
    if why is None:
        return
    reason, always = why
    if always or not allow_private:
        raise Refused(host, str(ip), reason, always)


def resolve(host: str, port: int, *, allow_private: bool, timeout: float | None = None,
            family: int = socket.AF_UNSPEC) -> list[tuple]:
    """``getaddrinfo`` results for ``host`` (TCP), every address checked; raises :class:`Refused`,
    ``socket.gaierror`` or ``TimeoutError`` (a resolver slower than ``timeout`` seconds)."""
    check_name(host)
    bare = host.strip("[]")
    literal = parse_ip(bare)
    if literal is not None and "%" not in bare:
        infos = [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                  (str(literal), port) if literal.version == 4 else (str(literal), port, 0, 0))]
    else:
        infos = getaddrinfo_within(bare, port, timeout, family)
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    for info in infos:
        check_address(host, info[4][0], allow_private=allow_private)
    return infos


def getaddrinfo_within(host: str, port: int, timeout: float | None, family: int = socket.AF_UNSPEC) -> list:
    """``socket.getaddrinfo`` that gives up after ``timeout`` seconds (the C resolver cannot be
    interrupted, so it runs in a helper thread that is left to finish on its own)."""
    if timeout is None:
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    box: dict = {}

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=work, name="policy-tracker-resolve", daemon=True)
    t.start()
    t.join(max(0.0, timeout))
    if t.is_alive():
        raise TimeoutError(f"cannot resolve {host}: no answer within {timeout:.1f} s")
    if "error" in box:
        raise box["error"]
    return box["infos"]


# --------------------------------------------------------------------------- sites

# Second-level labels under which a country code top-level domain sells names (example.co.uk).
_GENERIC_SLDS = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "gouv",
                           "nic", "mil", "ltd", "plc", "sch", "nom", "info", "biz", "gv", "ed", "lg", "ad"})


def site_of(host: str) -> str:
    """The registrable domain of ``host``, approximately (no public suffix list is bundled):
    ``www.example.com`` -> ``example.com``, ``www.example.co.uk`` -> ``example.co.uk``; an address is
    its own site."""
    host = (host or "").strip().strip("[]").rstrip(".").lower()
    if parse_ip(host) is not None:
        return host
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _GENERIC_SLDS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_site(a: str, b: str) -> bool:
    return site_of(a) == site_of(b)
