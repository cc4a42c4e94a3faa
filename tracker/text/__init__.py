"""From a page to clauses: HTML/Markdown/plain-text extraction, CSS selection, normalisation."""
