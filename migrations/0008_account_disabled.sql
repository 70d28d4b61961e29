-- A disabled account's tokens are refused (by /verify and the admin API) until it is enabled again; its issue
-- state is kept, so enabling it brings the same token back. 0 or 1, like every other flag SQLite stores.
ALTER TABLE service_accounts ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
