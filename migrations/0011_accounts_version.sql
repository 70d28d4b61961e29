-- The account change counter: every insert, delete and update of a service account except of its last-used time
-- (`accessed_at`, written by /verify itself) bumps it in the same transaction, whichever code or process writes.
-- A /verify that kept an account's record since reading it at counter value N uses it again only while the
-- counter still reads N, which it reads in the check's own statement: a delete, rotation, disable or move made by
-- any process is in force at the next check.
CREATE TABLE accounts_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO accounts_version (id, version) VALUES (1, 0);

CREATE TRIGGER service_accounts_bump_insert AFTER INSERT ON service_accounts
BEGIN UPDATE accounts_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_accounts_bump_delete AFTER DELETE ON service_accounts
BEGIN UPDATE accounts_version SET version = version + 1 WHERE id = 1; END;
-- Every column but accessed_at: a new column must be added here too.
CREATE TRIGGER service_accounts_bump_update
AFTER UPDATE OF id, namespace_id, originator_id, description, user_id, expires_at, expires_at_ns, created_at,
    modified_at, issued_at, grace_from, grace_until, disabled ON service_accounts
BEGIN UPDATE accounts_version SET version = version + 1 WHERE id = 1; END;
