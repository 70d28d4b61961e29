-- sacon's SQLite schema. Times are integer microseconds since the Unix epoch (UTC).

CREATE TABLE namespaces (
    id            TEXT PRIMARY KEY NOT NULL,
    -- NULL only for the root.
    parent_id     TEXT REFERENCES namespaces (id),
    name          TEXT NOT NULL,
    -- Unicode-lowercased name, computed by the store: SQLite's own NOCASE only folds ASCII.
    name_key      TEXT NOT NULL,
    originator_id TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL
) STRICT;

-- Names are unique among siblings, case-insensitively (the store keeps a single root, whose parent is NULL);
-- also serves "children of X" and the foreign-key check when a namespace is deleted.
CREATE UNIQUE INDEX namespaces_sibling_name ON namespaces (parent_id, name_key);

CREATE TABLE users (
    -- A stable rowid that links the search tables below.
    num      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    email    TEXT NOT NULL,
    -- JSON array of strings.
    groups   TEXT NOT NULL,
    -- Lowercased name (or id when the name is empty): the listing order.
    sort_key TEXT NOT NULL
) STRICT;

CREATE INDEX users_by_sort_key ON users (sort_key, id);

-- Lowercased words a query may be a prefix of: the id, the e-mail, the whole name, each word of the name,
-- each group. Serves prefix matches and short (1-2 character) queries from an index.
CREATE TABLE user_terms (
    term       TEXT NOT NULL,
    user_num INTEGER NOT NULL REFERENCES users (num) ON DELETE CASCADE,
    PRIMARY KEY (term, user_num)
) STRICT, WITHOUT ROWID;

CREATE INDEX user_terms_by_user ON user_terms (user_num);

-- Substring search: one document per user (id, name, e-mail and groups, one per line), rowid = users.num.
-- The trigram tokenizer folds case and answers any substring of three or more characters from its index.
CREATE VIRTUAL TABLE users_fts USING fts5 (doc, tokenize = 'trigram');

CREATE TABLE service_accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    namespace_id  TEXT NOT NULL REFERENCES namespaces (id),
    originator_id TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    user_id       TEXT NOT NULL,
    -- NULL: never expires.
    expires_at    INTEGER,
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    -- NULL: never used.
    accessed_at   INTEGER,
    -- Issue time of the current token. Tokens issued in [grace_from, issued_at) verify until grace_until.
    issued_at     INTEGER NOT NULL,
    grace_from    INTEGER,
    grace_until   INTEGER
) STRICT;

-- A namespace's page in each console order, served in one index scan. The expires_at expression must match
-- the ORDER BY term the filter compiler emits (a never-expiring account sorts as the far future).
CREATE INDEX accounts_ns_expires ON service_accounts (namespace_id, coalesce(expires_at, 9223372036854775807), id);
CREATE INDEX accounts_ns_user ON service_accounts (namespace_id, user_id, id);
CREATE INDEX accounts_ns_created ON service_accounts (namespace_id, created_at, id);
CREATE INDEX accounts_ns_accessed ON service_accounts (namespace_id, accessed_at, id);
-- Across namespaces: the default order, accounts of one user, and expiry ranges ("expiring within 30 days").
CREATE INDEX accounts_created ON service_accounts (created_at, id);
CREATE INDEX accounts_user ON service_accounts (user_id, id);
CREATE INDEX accounts_expires ON service_accounts (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    -- Non-secret detail; never a token.
    detail      TEXT NOT NULL
) STRICT;

-- The history of one account or namespace ("was this token's account deleted, and by whom?").
CREATE INDEX audit_log_by_target ON audit_log (target_kind, target_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
