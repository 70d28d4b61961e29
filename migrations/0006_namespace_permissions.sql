-- Namespace roles: a user (directory user or service-account user id) or a directory group holds `viewer`,
-- `manager` or `admin` on a namespace and everything below it. One binding per subject and namespace; a
-- namespace with bindings is not deleted until they are revoked (the store says so).
CREATE TABLE namespace_permissions (
    id            TEXT PRIMARY KEY,
    namespace_id  TEXT NOT NULL REFERENCES namespaces (id),
    subject_type  TEXT NOT NULL CHECK (subject_type IN ('user', 'group')),
    subject_id    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    originator_id TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    UNIQUE (namespace_id, subject_type, subject_id)
) STRICT;

-- "What does this user (or group) hold?": every authenticated service-account call asks it.
CREATE INDEX namespace_permissions_by_subject ON namespace_permissions (subject_type, subject_id);

-- The service account that acted, when a service account called the API (its user id is `actor`).
ALTER TABLE audit_log ADD COLUMN actor_account_id TEXT NOT NULL DEFAULT '';
