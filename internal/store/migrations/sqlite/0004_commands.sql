-- pr_heads is the history of each pull request's head commit, so a command
-- deploys the commit the PR had when the comment was written.
CREATE TABLE IF NOT EXISTS pr_heads (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    repository TEXT NOT NULL,
    pr         INTEGER NOT NULL,
    sha        TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pr_heads_lookup ON pr_heads (repository, pr, at);
