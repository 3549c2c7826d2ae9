"""Full-text search (PostgreSQL): photos, users and tags, kept current by triggers.

The PostgreSQL counterpart of 0002 (which does nothing here; this one does nothing on SQLite).

- ``hyperpics_search``, a text search configuration copied from ``simple`` with ``unaccent``
  before it: lower-cased, accents folded on both sides ("cafe" finds "café"), no stemming and
  no stop words, as FTS5's unicode61 tokenizer.
- Before parsing, punctuation becomes a space (``search_text``), so that "ana@example.com",
  "x.org/a", "3.5" or "<b>" are separate words, as unicode61 reads them, and not the single
  email / host / number / HTML-tag tokens of PostgreSQL's parser.
- One table of documents per kind, ``search_photos``, ``search_users`` and ``search_tags`` (the
  row's id, a weighted ``tsvector``, a GIN index), rather than columns on users and tags: a
  photo's text spans photos and tag names, so it needs triggers anyway; side tables keep the
  models' tables as the models say, and ``hyperpics reindex`` can rebuild all three alike.
  Weights mirror FTS5's bm25 column weights: photos A description, B alt text, C tag names;
  users A username, B name, C bio.
- Row triggers, on the events of 0002's: photos insert / update of description or alt text;
  photo_tags insert / delete; tags insert / rename (every photo carrying it); users insert /
  update of username, name or bio. Deletes cascade through the foreign keys. ``hyperpics
  reindex`` rebuilds the documents with the same functions.

``unaccent`` is a trusted extension (PostgreSQL 13+): the database's owner may create it.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIG = "hyperpics_search"
# Token types that may carry accents; the ASCII ones go to ``simple`` alone, as copied.
ACCENTED = "word, hword, hword_part, numword, numhword, hword_numpart"
# Table of documents: (its key, the table it indexes).
TABLES = {
    "search_photos": ("photo_id", "photos"),
    "search_users": ("user_id", "users"),
    "search_tags": ("tag_id", "tags"),
}

PHOTO_TAG_NAMES = (
    "coalesce((SELECT string_agg(t.name, ' ' ORDER BY t.name) FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
    "WHERE pt.photo_id = photo), '')"
)
# Recompute the documents of some photos (their tags changed); gone photos are skipped.
REFRESH_PHOTOS = (
    "UPDATE search_photos SET document = search_photo_document(p.id, p.description, p.alt_text) "
    "FROM photos p WHERE search_photos.photo_id = p.id AND {photos}"
)


def _table(name: str, key: str, parent: str) -> list[str]:
    return [
        f"CREATE TABLE {name} ({key} integer NOT NULL, document tsvector NOT NULL, "
        f"CONSTRAINT pk_{name} PRIMARY KEY ({key}), "
        f"CONSTRAINT fk_{name}_{key}_{parent} FOREIGN KEY ({key}) REFERENCES {parent} (id) ON DELETE CASCADE)",
        f"CREATE INDEX ix_{name}_document ON {name} USING gin (document)",
    ]


STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple)",
    f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {ACCENTED} WITH unaccent, simple",
    *(statement for name, (key, parent) in TABLES.items() for statement in _table(name, key, parent)),
    # --- documents --- (plain-text bodies: no dependency on the columns they read, so later
    # migrations may still alter those columns)
    "CREATE FUNCTION search_text(body text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
    # ("\\:" because op.execute would read ":punct" as a bind parameter)
    "AS $$ SELECT regexp_replace(body, '[[\\:punct\\:]]', ' ', 'g') $$",
    'CREATE FUNCTION search_vector(body text, weight "char") RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE '
    f"AS $$ SELECT setweight(to_tsvector('{CONFIG}', search_text(coalesce(body, ''))), weight) $$",
    # PL/pgSQL keeps its plan: an SQL function with a sub-select is not inlined, and would be
    # planned again at every trigger firing.
    "CREATE FUNCTION search_photo_document(photo integer, description text, alt_text text) RETURNS tsvector "
    "LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ BEGIN RETURN search_vector(description, 'A') "
    f"|| search_vector(alt_text, 'B') || search_vector({PHOTO_TAG_NAMES}, 'C'); END $$",
    "CREATE FUNCTION search_user_document(username text, name text, bio text) RETURNS tsvector "
    "LANGUAGE sql STABLE PARALLEL SAFE "
    "AS $$ SELECT search_vector(username, 'A') || search_vector(name, 'B') || search_vector(bio, 'C') $$",
    "CREATE FUNCTION search_tag_document(name text) RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE "
    "AS $$ SELECT search_vector(name, 'A') $$",
    # --- triggers ---
    """CREATE FUNCTION search_photos_on_photo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_photos (photo_id, document)
    VALUES (NEW.id, search_photo_document(NEW.id, NEW.description, NEW.alt_text))
    ON CONFLICT (photo_id) DO UPDATE SET document = excluded.document;
    RETURN NULL;
END $$""",
    f"""CREATE FUNCTION search_photos_on_photo_tag() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    photo integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        photo := OLD.photo_id;
    ELSE
        photo := NEW.photo_id;
    END IF;
    {REFRESH_PHOTOS.format(photos="p.id = photo")};
    RETURN NULL;
END $$""",
    """CREATE FUNCTION search_users_on_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_users (user_id, document)
    VALUES (NEW.id, search_user_document(NEW.username, NEW.name, NEW.bio))
    ON CONFLICT (user_id) DO UPDATE SET document = excluded.document;
    RETURN NULL;
END $$""",
    f"""CREATE FUNCTION search_tags_on_tag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_tags (tag_id, document) VALUES (NEW.id, search_tag_document(NEW.name))
    ON CONFLICT (tag_id) DO UPDATE SET document = excluded.document;
    IF TG_OP = 'UPDATE' THEN
        {REFRESH_PHOTOS.format(photos="p.id IN (SELECT photo_id FROM photo_tags WHERE tag_id = NEW.id)")};
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER search_photos_insert AFTER INSERT ON photos FOR EACH ROW EXECUTE FUNCTION search_photos_on_photo()",
    "CREATE TRIGGER search_photos_update AFTER UPDATE OF description, alt_text ON photos FOR EACH ROW "
    "WHEN ((OLD.description, OLD.alt_text) IS DISTINCT FROM (NEW.description, NEW.alt_text)) "
    "EXECUTE FUNCTION search_photos_on_photo()",
    "CREATE TRIGGER search_photos_tagged AFTER INSERT OR DELETE ON photo_tags FOR EACH ROW "
    "EXECUTE FUNCTION search_photos_on_photo_tag()",
    "CREATE TRIGGER search_users_insert AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION search_users_on_user()",
    "CREATE TRIGGER search_users_update AFTER UPDATE OF username, name, bio ON users FOR EACH ROW "
    "WHEN ((OLD.username, OLD.name, OLD.bio) IS DISTINCT FROM (NEW.username, NEW.name, NEW.bio)) "
    "EXECUTE FUNCTION search_users_on_user()",
    "CREATE TRIGGER search_tags_insert AFTER INSERT ON tags FOR EACH ROW EXECUTE FUNCTION search_tags_on_tag()",
    "CREATE TRIGGER search_tags_update AFTER UPDATE OF name ON tags FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION search_tags_on_tag()",
    # --- what already exists ---
    "INSERT INTO search_photos (photo_id, document) "
    "SELECT id, search_photo_document(id, description, alt_text) FROM photos",
    "INSERT INTO search_users (user_id, document) SELECT id, search_user_document(username, name, bio) FROM users",
    "INSERT INTO search_tags (tag_id, document) SELECT id, search_tag_document(name) FROM tags",
]

TRIGGERS = {
    "search_photos_insert": "photos",
    "search_photos_update": "photos",
    "search_photos_tagged": "photo_tags",
    "search_users_insert": "users",
    "search_users_update": "users",
    "search_tags_insert": "tags",
    "search_tags_update": "tags",
}
FUNCTIONS = [
    "search_photos_on_photo()",
    "search_photos_on_photo_tag()",
    "search_users_on_user()",
    "search_tags_on_tag()",
    "search_photo_document(integer, text, text)",
    "search_user_document(text, text, text)",
    "search_tag_document(text)",
    'search_vector(text, "char")',
    "search_text(text)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches with FTS5 (0002)
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, table in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
    # Not CASCADE: if something else of this database uses unaccent, the downgrade says so.
    op.execute("DROP EXTENSION IF EXISTS unaccent")
