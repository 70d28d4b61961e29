-- Access: policies (allowed users, e-mail domains and a PPL document) and routes (a scheme and host with an
-- optional path prefix) belong to namespaces; a route names its policies in order, and an enforced policy applies
-- to every route of its namespace and below. A namespace with routes or policies is not deleted (the store says
-- so).
CREATE TABLE policies (
    id              TEXT PRIMARY KEY,
    namespace_id    TEXT NOT NULL REFERENCES namespaces (id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- JSON arrays of strings.
    allowed_users   TEXT NOT NULL DEFAULT '[]',
    allowed_domains TEXT NOT NULL DEFAULT '[]',
    ppl             TEXT NOT NULL DEFAULT '',
    enforced        INTEGER NOT NULL DEFAULT 0 CHECK (enforced IN (0, 1)),
    originator_id   TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX policies_by_namespace ON policies (namespace_id);

CREATE TABLE routes (
    id            TEXT PRIMARY KEY,
    namespace_id  TEXT NOT NULL REFERENCES namespaces (id),
    name          TEXT NOT NULL,
    description   TEXT,
    -- Normalised scheme://host.
    from_url      TEXT NOT NULL,
    prefix        TEXT,
    originator_id TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX routes_by_namespace ON routes (namespace_id);

CREATE TABLE route_policies (
    route_id  TEXT NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL REFERENCES policies (id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (route_id, policy_id)
) STRICT;
-- "Which routes name this policy?": every policy read and delete asks it.
CREATE INDEX route_policies_by_policy ON route_policies (policy_id);

-- The access change counter: every write to the three tables above bumps it in the same transaction (by the
-- triggers below, whichever code or process writes), so a /verify that cached compiled policies sees a change on
-- its next request.
CREATE TABLE access_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO access_version (id, version) VALUES (1, 0);

CREATE TRIGGER policies_bump_insert AFTER INSERT ON policies
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER policies_bump_update AFTER UPDATE ON policies
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER policies_bump_delete AFTER DELETE ON policies
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER routes_bump_insert AFTER INSERT ON routes
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER routes_bump_update AFTER UPDATE ON routes
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER routes_bump_delete AFTER DELETE ON routes
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER route_policies_bump_insert AFTER INSERT ON route_policies
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER route_policies_bump_delete AFTER DELETE ON route_policies
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
