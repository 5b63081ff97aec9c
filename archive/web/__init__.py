"""``archive serve``: the archive in a browser, read-only, on loopback, behind a random token.

Invariants:

- Read-only: every request opens the catalog read-only and never writes the archive, the index
  or a profile; restore and resume stay commands (pages show the command to copy).
- Nothing from a transcript runs in the page: every string goes through Jinja2's autoescape,
  Markdown is rendered without raw HTML, and a Content-Security-Policy allows only the
  package's own script and stylesheet (no inline script, nothing from the network).
- Every transcript string is masked by ``redact`` before it reaches a template.
- Every request carries the token (in the URL once, then in a cookie): other local users must
  not read the transcripts.

Only ``archive.web.data`` calls the library; the web stack (Starlette, uvicorn, Jinja2) is
imported only by ``archive serve``.
"""
