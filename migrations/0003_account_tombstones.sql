-- Deleted accounts' ids with the issue time of their newest token: an account created later with the same id
-- issues strictly after it, so no token of the deleted account ever verifies again. Kept for good, since a
-- token without `exp` never expires on its own.
CREATE TABLE account_tombstones (
    id        TEXT PRIMARY KEY NOT NULL,
    issued_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER service_accounts_after_tombstone BEFORE INSERT ON service_accounts
WHEN NEW.issued_at <= (SELECT t.issued_at FROM account_tombstones t WHERE t.id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'service account id was deleted: its new token must be issued after the old ones');
END;

-- The bootstrap admin identity (Pomerium's bootstrap token's jti and sub) is never an account's id or user id:
-- an account's token carries both, and must never take the bootstrap form. The store refuses them first with a
-- clear error (folding case as Unicode does); these triggers hold for every other writer, and SQLite's ASCII-only
-- lower() is enough for them because both values are ASCII.
CREATE TRIGGER service_accounts_reserved_insert BEFORE INSERT ON service_accounts
WHEN lower(NEW.id) IN ('014e587b-3f4b-4fcf-90a9-f6ecdf8154af',
                       'bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium')
  OR lower(NEW.user_id) IN ('014e587b-3f4b-4fcf-90a9-f6ecdf8154af',
                            'bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium')
BEGIN
    SELECT RAISE(ABORT, 'the bootstrap admin identity is reserved');
END;

CREATE TRIGGER service_accounts_reserved_update BEFORE UPDATE OF id, user_id ON service_accounts
WHEN lower(NEW.id) IN ('014e587b-3f4b-4fcf-90a9-f6ecdf8154af',
                       'bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium')
  OR lower(NEW.user_id) IN ('014e587b-3f4b-4fcf-90a9-f6ecdf8154af',
                            'bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium')
BEGIN
    SELECT RAISE(ABORT, 'the bootstrap admin identity is reserved');
END;
