"""Full-text search (SQLite FTS5): photos, users and tags, kept current by triggers.

users_fts and tags_fts are external-content tables over their rows. photos_fts holds its
own copy, because a photo's text spans two tables (its description and alt text, and the
names of its tags); triggers on photos, photo_tags and tags keep it current.
unicode61 with remove_diacritics folds accents on both sides ("cafe" finds "café").

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZER = "unicode61 remove_diacritics 2"
PHOTO_TAGS = (
    "coalesce((SELECT group_concat(t.name, ' ') FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
    "WHERE pt.photo_id = {photo}), '')"
)

STATEMENTS = [
    # --- users: external content ---
    f"CREATE VIRTUAL TABLE users_fts USING fts5(username, name, bio, content='users', content_rowid='id', tokenize='{TOKENIZER}')",
    "CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN "
    "INSERT INTO users_fts(rowid, username, name, bio) VALUES (new.id, new.username, new.name, new.bio); END",
    "CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN "
    "INSERT INTO users_fts(users_fts, rowid, username, name, bio) VALUES ('delete', old.id, old.username, old.name, old.bio); END",
    "CREATE TRIGGER users_fts_update AFTER UPDATE OF username, name, bio ON users BEGIN "
    "INSERT INTO users_fts(users_fts, rowid, username, name, bio) VALUES ('delete', old.id, old.username, old.name, old.bio); "
    "INSERT INTO users_fts(rowid, username, name, bio) VALUES (new.id, new.username, new.name, new.bio); END",
    # --- tags: external content ---
    f"CREATE VIRTUAL TABLE tags_fts USING fts5(name, content='tags', content_rowid='id', tokenize='{TOKENIZER}')",
    "CREATE TRIGGER tags_fts_insert AFTER INSERT ON tags BEGIN "
    "INSERT INTO tags_fts(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER tags_fts_delete AFTER DELETE ON tags BEGIN "
    "INSERT INTO tags_fts(tags_fts, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER tags_fts_update AFTER UPDATE OF name ON tags BEGIN "
    "INSERT INTO tags_fts(tags_fts, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO tags_fts(rowid, name) VALUES (new.id, new.name); "
    f"UPDATE photos_fts SET tags = {PHOTO_TAGS.format(photo='photos_fts.rowid')} "
    "WHERE rowid IN (SELECT photo_id FROM photo_tags WHERE tag_id = new.id); END",
    # --- photos: own content (description, alt text, tag names) ---
    f"CREATE VIRTUAL TABLE photos_fts USING fts5(description, alt_text, tags, tokenize='{TOKENIZER}')",
    "CREATE TRIGGER photos_fts_insert AFTER INSERT ON photos BEGIN "
    "INSERT INTO photos_fts(rowid, description, alt_text, tags) VALUES (new.id, new.description, new.alt_text, ''); END",
    "CREATE TRIGGER photos_fts_delete AFTER DELETE ON photos BEGIN DELETE FROM photos_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER photos_fts_update AFTER UPDATE OF description, alt_text ON photos BEGIN "
    "UPDATE photos_fts SET description = new.description, alt_text = new.alt_text WHERE rowid = new.id; END",
    "CREATE TRIGGER photo_tags_fts_insert AFTER INSERT ON photo_tags BEGIN "
    f"UPDATE photos_fts SET tags = {PHOTO_TAGS.format(photo='new.photo_id')} WHERE rowid = new.photo_id; END",
    "CREATE TRIGGER photo_tags_fts_delete AFTER DELETE ON photo_tags BEGIN "
    f"UPDATE photos_fts SET tags = {PHOTO_TAGS.format(photo='old.photo_id')} WHERE rowid = old.photo_id; END",
    # --- what already exists ---
    "INSERT INTO users_fts(users_fts) VALUES ('rebuild')",
    "INSERT INTO tags_fts(tags_fts) VALUES ('rebuild')",
    "INSERT INTO photos_fts(rowid, description, alt_text, tags) SELECT p.id, p.description, p.alt_text, "
    f"{PHOTO_TAGS.format(photo='p.id')} FROM photos p",
]

TRIGGERS = [
    "users_fts_insert",
    "users_fts_delete",
    "users_fts_update",
    "tags_fts_insert",
    "tags_fts_delete",
    "tags_fts_update",
    "photos_fts_insert",
    "photos_fts_delete",
    "photos_fts_update",
    "photo_tags_fts_insert",
    "photo_tags_fts_delete",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL gets its own search migration (generated tsvector + GIN)
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in ("photos_fts", "users_fts", "tags_fts"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
