-- card is what the approval card (Slack) shows of an artifact, as JSON:
-- the kind's lines in its persona's words, what it would serve against what
-- each environment serves, and its monthly cost and delta.
ALTER TABLE check_results ADD COLUMN card TEXT NOT NULL DEFAULT '';
