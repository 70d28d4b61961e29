-- The compiled access of /verify holds the namespace tree (which routes an account may use, which enforced
-- policies apply below where), so a change to the tree moves the access version as a change to a route or policy
-- does: every process rebuilds at its next check, and a check never reads the tree itself.
CREATE TRIGGER namespaces_bump_insert AFTER INSERT ON namespaces
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER namespaces_bump_update AFTER UPDATE ON namespaces
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER namespaces_bump_delete AFTER DELETE ON namespaces
BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END;
