"""Pages that are not the policy, written for the tests in the shape real sites serve them (not copies
of any site's page): the policy they stand in for, a consent wall, a sign-in page, another language's
edition, a page cut short with its closing tags put back."""

from __future__ import annotations

_SECTIONS_EN = {
    "Information we collect": [
        "We collect the information you give us when you create an account, such as your name, e-mail address, "
        "date of birth and the password you choose.",
        "We collect the content you create, upload or receive from others when you use the service, including "
        "messages, photos, comments and the metadata about that content.",
        "We collect information about the devices you use, such as the operating system, hardware version, "
        "device settings, battery level, signal strength and identifiers.",
        "We receive information about you from partners who run advertising and measurement services, when "
        "you visit their websites or use their apps.",
    ],
    "How we use information": [
        "We use the information we have to provide, personalise and improve the service, to develop new "
        "features and to understand how people use them.",
        "We use the information to measure the effectiveness of ads and to help advertisers understand who "
        "sees their ads and how they perform.",
        "We use the information to verify accounts and activity, to fight harmful conduct, to detect and "
        "prevent spam and to keep the service secure.",
        "We use the information to send you messages about the service, to tell you about our policies and "
        "terms, and to answer you when you contact us.",
    ],
    "How we share information": [
        "We share information with the service providers who support our business, such as providers of "
        "technical infrastructure, payment processing and customer service.",
        "We share information with law enforcement or in response to legal requests when we believe in good "
        "faith that the law requires us to do so.",
        "We share aggregated statistics and insights that tell advertisers how people engage with their "
        "ads; these do not identify you personally.",
    ],
    "How long we keep information": [
        "We keep information for as long as we need it to provide the service, to comply with legal "
        "obligations, to resolve disputes and to enforce our agreements.",
        "When you delete your account, we delete the things you have posted, such as your photos and status "
        "updates, within ninety days, unless the law requires us to keep them.",
    ],
    "Your rights": [
        "You have the right to access, rectify, port and erase your information, and to restrict and object "
        "to certain processing of your information.",
        "You can withdraw a consent you gave at any time; withdrawing it does not affect the lawfulness of "
        "processing based on consent before its withdrawal.",
        "You can lodge a complaint with your local supervisory authority if you think that we process your "
        "information in a way that breaks the law.",
    ],
    "How to contact us": [
        "If you have questions about this policy, you can contact our data protection officer by post at the "
        "address below or through the form in our help centre.",
        "We will answer your request within one month, which we may extend by two further months where "
        "necessary, taking into account the complexity and number of requests.",
    ],
}

# The same policy's German edition (written for the tests).
_SECTIONS_DE = {
    "Welche Informationen wir erheben": [
        "Wir erheben die Informationen, die du uns gibst, wenn du ein Konto erstellst, zum Beispiel deinen Namen, "
        "deine E-Mail-Adresse und dein Geburtsdatum.",
        "Wir erheben die Inhalte, die du erstellst oder hochlädst, und die Informationen über die Geräte, die "
        "du verwendest, etwa das Betriebssystem und die Einstellungen.",
        "Wir erhalten Informationen über dich von Partnern, die Werbe- und Messdienste betreiben, wenn du ihre "
        "Websites besuchst oder ihre Apps nutzt.",
    ],
    "Wie wir diese Informationen verwenden": [
        "Wir verwenden die Informationen, die uns vorliegen, um den Dienst bereitzustellen, zu personalisieren "
        "und zu verbessern, und um neue Funktionen zu entwickeln.",
        "Wir verwenden die Informationen, um die Wirksamkeit von Werbung zu messen und um Konten und "
        "Aktivitäten zu verifizieren und den Dienst zu schützen.",
        "Wir verwenden die Informationen, um dir Mitteilungen über den Dienst zu senden und um deine Anfragen "
        "zu beantworten, wenn du dich an uns wendest.",
    ],
    "Wie wir Informationen teilen": [
        "Wir teilen Informationen mit Dienstleistern, die unser Geschäft unterstützen, und mit Behörden, wenn "
        "wir nach Treu und Glauben annehmen, dass das Gesetz es verlangt.",
        "Wir teilen zusammengefasste Statistiken mit Werbetreibenden; diese Statistiken lassen keine "
        "Rückschlüsse auf deine Person zu.",
    ],
    "Deine Rechte": [
        "Du hast das Recht auf Auskunft, Berichtigung, Übertragbarkeit und Löschung deiner Daten sowie das "
        "Recht, der Verarbeitung zu widersprechen.",
        "Du kannst eine erteilte Einwilligung jederzeit widerrufen, und du kannst dich bei der zuständigen "
        "Aufsichtsbehörde beschweren, wenn du der Ansicht bist, dass wir gegen das Gesetz verstoßen.",
    ],
}

_HEADER = ('<header class="site-header"><a class="logo" href="/">Example</a><nav><a href="/help">Help</a> '
           '<a href="/login">Log in</a></nav></header>')
_FOOTER = ('<footer><ul><li><a href="/about">About</a></li><li><a href="/privacy">Privacy</a></li>'
           '<li><a href="/terms">Terms</a></li><li><a href="/cookies">Cookies</a></li></ul>'
           '<p>© 2026 Example Inc.</p></footer>')


def _page(title: str, sections: dict[str, list[str]], lang: str, updated: str) -> str:
    toc = "".join(f'<li><a href="#s{i}">{name}</a></li>' for i, name in enumerate(sections))
    body = [f"<h1>{title}</h1>", f"<p>{updated}</p>", f'<nav class="toc"><ol>{toc}</ol></nav>']
    for i, (name, paras) in enumerate(sections.items()):
        body.append(f'<section id="s{i}"><h2>{name}</h2>' + "".join(f"<p>{p}</p>" for p in paras) + "</section>")
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Example</title>'
            f'<link rel="stylesheet" href="/static/site.css"></head><body>{_HEADER}'
            f'<main id="content"><article>{"".join(body)}</article></main>{_FOOTER}'
            '<script src="/static/app.js"></script></body></html>')


def policy(extra: str | None = None) -> str:
    sections = {k: list(v) for k, v in _SECTIONS_EN.items()}
    if extra:
        sections["How we use information"].append(extra)
    return _page("Privacy Policy", sections, "en", "Effective: March 1, 2026")


def german_policy(lang: str = "de") -> str:
    return _page("Datenschutzrichtlinie", _SECTIONS_DE, lang, "Gültig ab: 1. März 2026")


def half_policy() -> str:
    """The policy cut after its third section, the page closed as if it were whole (a response cut
    short by a broken cache or proxy, its closing tags put back)."""
    page = policy()
    cut = page.index("<section", page.index("<section", page.index("<section") + 1) + 1)
    cut = page.index("<section", cut + 1)
    return page[:cut] + "</article></main></body></html>"


def consent_wall() -> str:
    """A full-page consent notice of the kind a consent platform serves before the content: plain
    divs (no dialog role, no cookie class names), buttons in a form."""
    purposes = ["Store and/or access information on a device",
                "Use limited data to select advertising",
                "Create profiles for personalised advertising",
                "Use profiles to select personalised content",
                "Measure advertising performance",
                "Understand audiences through statistics or combinations of data from different sources"]
    items = "".join(f"<li>{p}</li>" for p in purposes)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Example</title></head><body>'
            '<div class="wrap"><div class="box"><h2>We value your privacy</h2>'
            "<p>We and our 842 partners store and/or access information on a device, such as cookies, and process "
            "personal data, such as unique identifiers and standard information sent by a device, for personalised "
            "advertising and content, advertising and content measurement, audience research and services "
            "development.</p>"
            "<p>With your permission we and our partners may use precise geolocation data and identification "
            "through device scanning. You may click to consent to our and our partners' processing as described "
            "above. Alternatively you may access more detailed information and change your preferences before "
            "consenting or to refuse consenting.</p>"
            "<p>Please note that some processing of your personal data may not require your consent, but you have a "
            "right to object to such processing. Your preferences will apply to this website only. You can change "
            "your preferences or withdraw your consent at any time by returning to this site.</p>"
            f"<p>We and our partners process data to provide:</p><ul>{items}</ul>"
            '<p><a href="/vendors">List of partners (vendors)</a></p>'
            '<form method="post" action="/consent"><button type="submit" name="c" value="0">More options</button>'
            '<button type="submit" name="c" value="n">Disagree</button>'
            '<button type="submit" name="c" value="y">Agree</button></form>'
            "</div></div></body></html>")


def login_page(long: bool = True) -> str:
    """A sign-in page of another site, long with its marketing and footer text."""
    blurb = ("<p>One account for everything you do with us: your files, your calendar, your messages and your "
             "settings, kept in sync on every device you use, protected by two-step verification and reviewed "
             "by our security team around the clock.</p>") * (12 if long else 1)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in - Accounts</title></head>'
            '<body><main><h1>Sign in</h1><p>to continue to Example</p>'
            '<form method="post" action="/session"><label>Email or phone <input type="email" name="u"></label>'
            '<label>Password <input type="password" name="p"></label><button type="submit">Next</button></form>'
            f'<section class="about"><h2>Why create an account</h2>{blurb}</section></main>'
            '<footer><a href="/help">Help</a> <a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>'
            "</body></html>")
