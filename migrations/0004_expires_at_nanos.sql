-- The nanoseconds of an account's expiry below the microsecond (0-999), so a client's expiresAt comes back exactly
-- as it was sent; `expires_at` keeps the microseconds that the indexes and filters use.
ALTER TABLE service_accounts ADD COLUMN expires_at_ns INTEGER NOT NULL DEFAULT 0;
