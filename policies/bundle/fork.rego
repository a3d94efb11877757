# Fork PRs: their code is not the repository's, so they are not deployed
# unless a server policy defines fork_deploy_allowed for them.
package conveyor

default fork_deploy_allowed := false

deny contains msg if {
	input.action == "deploy"
	input.pull_request.from_fork == true
	not fork_deploy_allowed
	msg := sprintf("PR #%v comes from a fork and fork PRs are not deployed; push the branch to %s and open the PR from there", [input.pull_request.number, repository])
}
