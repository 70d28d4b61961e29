-- The newest entries of a subtree stay fast with a million entries (issue 9). A subtree's page merges one index
-- walk per namespace, newest first: audit_log_by_namespace (0005) for all of a namespace's entries, and this one
-- for one actor's.
CREATE INDEX audit_log_by_namespace_actor ON audit_log (namespace_id, actor, seq);

-- Totals without counting rows: entries per namespace, and per actor and namespace, kept by the trigger below in
-- the transaction that writes the entry. The log is append-only, so a count only grows.
CREATE TABLE audit_log_namespace_counts (
    namespace_id TEXT PRIMARY KEY NOT NULL,
    n            INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_log_actor_counts (
    actor        TEXT NOT NULL,
    namespace_id TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (actor, namespace_id)
) STRICT, WITHOUT ROWID;

INSERT INTO audit_log_namespace_counts (namespace_id, n)
    SELECT namespace_id, count(*) FROM audit_log GROUP BY namespace_id;
INSERT INTO audit_log_actor_counts (actor, namespace_id, n)
    SELECT actor, namespace_id, count(*) FROM audit_log GROUP BY actor, namespace_id;

CREATE TRIGGER audit_log_counted AFTER INSERT ON audit_log
BEGIN
    INSERT INTO audit_log_namespace_counts (namespace_id, n) VALUES (NEW.namespace_id, 1)
        ON CONFLICT (namespace_id) DO UPDATE SET n = n + 1;
    INSERT INTO audit_log_actor_counts (actor, namespace_id, n) VALUES (NEW.actor, NEW.namespace_id, 1)
        ON CONFLICT (actor, namespace_id) DO UPDATE SET n = n + 1;
END;
