-- owners and resources are what the base branch's config said of the
-- artifact when the deployment was made (owners as a JSON list of teams and
-- users, resources as the policy's JSON: cpu, memory_gib, gpu, replicas),
-- so what a team runs can be summed across repositories for its quota.
-- '' (resources) marks a row written before they were recorded.
ALTER TABLE deployment_artifacts ADD COLUMN owners TEXT NOT NULL DEFAULT '[]';
ALTER TABLE deployment_artifacts ADD COLUMN resources TEXT NOT NULL DEFAULT '';
