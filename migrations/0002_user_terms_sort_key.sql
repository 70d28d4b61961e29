-- Prefix terms carry their user's listing order (sort key and id), so the prefix matches of a query can be
-- ordered from the term index alone, without fetching every matching user.

CREATE TABLE user_terms_sorted (
    term     TEXT NOT NULL,
    user_num INTEGER NOT NULL REFERENCES users (num) ON DELETE CASCADE,
    -- Copies of users.sort_key and users.id, rewritten with the user's terms on every upsert.
    sort_key TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (term, user_num)
) STRICT, WITHOUT ROWID;

INSERT INTO user_terms_sorted (term, user_num, sort_key, user_id)
SELECT t.term, t.user_num, u.sort_key, u.id FROM user_terms t JOIN users u ON u.num = t.user_num;

DROP TABLE user_terms;
ALTER TABLE user_terms_sorted RENAME TO user_terms;
CREATE INDEX user_terms_by_user ON user_terms (user_num);

-- A term that begins another term of the same user adds no prefix match; the store no longer writes them.
DELETE FROM user_terms
WHERE EXISTS (
    SELECT 1 FROM user_terms longer
    WHERE longer.user_num = user_terms.user_num
      AND longer.term > user_terms.term
      AND substr(longer.term, 1, length(user_terms.term)) = user_terms.term
);
