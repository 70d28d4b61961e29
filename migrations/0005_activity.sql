-- What the activity log lists by: the namespace a change happened in and the name of what it was about, copied
-- onto the row when it is written so listing never joins (the account or namespace may be gone). Rows written
-- before this keep empty values. The append-only triggers stay: ADD COLUMN rewrites no row.
ALTER TABLE audit_log ADD COLUMN namespace_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN entity_name TEXT NOT NULL DEFAULT '';

-- "The newest entries of these namespaces": an equality on namespace_id, then seq descending from the index.
CREATE INDEX audit_log_by_namespace ON audit_log (namespace_id, seq);
-- "What this user did", newest first.
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
-- "Entries about entity X" is served by audit_log_by_target (target_kind, target_id, seq) from 0001.
