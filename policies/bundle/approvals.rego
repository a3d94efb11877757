# Approvals required by the environment (approvals: {count, from}) for a
# deployment, and who may give one: nobody approves their own PR or their own
# request, and an approver must belong to one of the required groups' teams.
package conveyor

approval_group contains {"count": n, "from": env_approval_teams} if {
	needs_approvals
	n := input.environment.config.approvals.count
	n > 0
}

default pr_author := ""

pr_author := input.pull_request.author

same_login(a, b) if {
	a != ""
	lower(a) == lower(b)
}

deny contains msg if {
	input.action == "approve"
	same_login(pr_author, actor_login)
	msg := sprintf("@%s opened PR #%v and cannot approve its own deployment; someone else must approve", [actor_login, input.pull_request.number])
}

deny contains msg if {
	input.action == "approve"
	same_login(object.get(input, "requester", ""), actor_login)
	not same_login(pr_author, actor_login)
	msg := sprintf("@%s asked for this deployment and cannot approve it; someone else must approve", [actor_login])
}

# group_accepts(g) is true when the actor may count towards group g: a member of
# one of its teams, or anyone with write permission when it names no team.
group_accepts(g) if {
	some t in g.from
	actor_teams[t]
}

group_accepts(g) if {
	count(g.from) == 0
	actor_rank >= permission_rank.write
}

approver_eligible if {
	some g in approval_group
	group_accepts(g)
}

approver_eligible if {
	count(approval_group) == 0
	actor_rank >= permission_rank.write
}

deny contains msg if {
	input.action == "approve"
	not approver_eligible
	msg := approver_message
}

approver_message := sprintf("@%s is not in %s and cannot approve this deployment to %s", [actor_login, or_list(approvals_required.from), env_name]) if {
	count(approvals_required.from) > 0
} else := sprintf("@%s has %s permission on %s; approving needs write", [actor_login, actor_permission, repository])
