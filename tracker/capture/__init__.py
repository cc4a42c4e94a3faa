"""Getting a page: HTTP fetch, headless-browser rendering, charset decoding, guards against pages that are not the policy."""
