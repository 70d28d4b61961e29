-- What every replica of one database must agree on, by name. `secret_fingerprint`: an HMAC of a fixed text under
-- the shared secret the database's tokens are signed with (it reveals nothing of the key), written by the first
-- start (or by `sacon migrate`, from the source's secret); a replica started with another secret is refused.
CREATE TABLE settings (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
