-- selection is what a deploy of the artifact at this SHA selects: for a dbt
-- project the modified and added models (the dbt driver builds them and what
-- is downstream), as a JSON list.
ALTER TABLE check_results ADD COLUMN selection TEXT NOT NULL DEFAULT '[]';
