"""Policy pages written for the tests (not real policies): enough structure to be extracted like one."""

from __future__ import annotations

SECTIONS = {
    "Information we collect": [
        "We collect the information you provide when you create an account, such as your name and e-mail address.",
        "We collect information about how you use the service, including the pages you visit and the features you use.",
        "We collect device information such as the operating system, browser type and language settings.",
    ],
    "How we use information": [
        "We use information to provide, maintain and improve the service and to develop new features.",
        "We use information to communicate with you about your account and to answer your requests.",
        "We use information to detect and prevent fraud, abuse and security incidents.",
    ],
    "How we share information": [
        "We share information with service providers who process it on our behalf under written contracts.",
        "We share information when the law requires it or to protect the rights and safety of our users.",
    ],
    "Your choices": [
        "You can access, correct or delete your information at any time from your account settings.",
        "You can object to some processing and withdraw your consent where processing is based on it.",
    ],
}


def policy_html(extra: dict[str, list[str]] | None = None, date: str = "January 5, 2026", title: str = "Privacy Policy",
                noise: bool = True) -> str:
    """An HTML policy page; ``extra`` adds paragraphs to sections (new sections are appended)."""
    sections = {k: list(v) for k, v in SECTIONS.items()}
    for name, paras in (extra or {}).items():
        sections.setdefault(name, []).extend(paras)
    body = [f"<h1>{title}</h1>", f"<p>Last updated: {date}</p>"]
    for name, paras in sections.items():
        body.append(f"<h2>{name}</h2>")
        body.extend(f"<p>{p}</p>" for p in paras)
    head = ('<header><nav><a href="/">Home</a> <a href="/login">Log in</a></nav></header>'
            '<div class="cookie-banner">We use cookies. <button>Accept</button></div>') if noise else ""
    foot = "<footer>© 2026 Example Corp · Terms · Privacy</footer>" if noise else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{head}<main>{''.join(body)}</main>{foot}</body></html>")
