"""The HTTP edge every page stands on: who is asking (auth), how answers are made (responses,
htmx, templating, layout), what is refused before a view runs (CSRF, body and rate limits),
the error pages, the page cache, static files, the event streams and the account mails."""
