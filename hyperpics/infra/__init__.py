"""What everything stands on, with no knowledge of pages or rules: the database and its
SQLite driver, migrations, media files and their storage, mail transport, the broadcast hub
and shared state, password hashing, signed tokens, the pool for slow work, and the parsing of
numbers from requests."""
