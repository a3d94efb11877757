-- evidence is what the evaluation of an artifact found (CI results, model
-- metrics, dbt impact) as JSON in the policy input's shape; overridable is 1
-- when the artifact failed only on findings the policy's quality gates judge,
-- so /deploy lets the policy decide (an override team may proceed).
ALTER TABLE check_results ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
ALTER TABLE check_results ADD COLUMN overridable INTEGER NOT NULL DEFAULT 0;
