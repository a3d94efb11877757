package ghfake

// routes registers every endpoint; the outer handler has already stripped /api/v3,
// authenticated the caller and checked repository access.
func (s *Server) routes() {
	m := s.mux
	repo := "/repos/{owner}/{repo}"

	m.HandleFunc("GET /app", s.handleGetApp)
	m.HandleFunc("GET /app/installations", s.handleListInstallations)
	m.HandleFunc("GET /app/installations/{id}", s.handleGetInstallation)
	m.HandleFunc("POST /app/installations/{id}/access_tokens", s.handleAccessToken)
	m.HandleFunc("GET /app/hook/deliveries", s.handleListDeliveries)
	m.HandleFunc("GET /app/hook/deliveries/{id}", s.handleGetDelivery)
	m.HandleFunc("POST /app/hook/deliveries/{id}/attempts", s.handleRedeliver)
	m.HandleFunc("POST /app-manifests/{code}/conversions", s.handleManifestConversion)
	m.HandleFunc("GET /installation/repositories", s.handleInstallationRepos)
	m.HandleFunc("GET /orgs/{org}/teams/{slug}/memberships/{user}", s.handleTeamMembership)
	s.oauthRoutes()

	m.HandleFunc("GET "+repo, s.withRepo(s.handleGetRepo))
	m.HandleFunc("GET "+repo+"/installation", s.withRepo(s.handleRepoInstallation))
	m.HandleFunc("GET "+repo+"/commits/{rest...}", s.withRepo(s.handleCommitsSubtree))
	m.HandleFunc("GET "+repo+"/compare/{basehead...}", s.withRepo(s.handleCompare))
	m.HandleFunc("GET "+repo+"/contents/{path...}", s.withRepo(s.handleContents))
	m.HandleFunc("GET "+repo+"/git/trees/{sha...}", s.withRepo(s.handleTree))
	m.HandleFunc("GET "+repo+"/git/blobs/{sha}", s.withRepo(s.handleBlob))
	m.HandleFunc("GET "+repo+"/tarball", s.withRepo(s.handleTarball))
	m.HandleFunc("GET "+repo+"/tarball/{ref...}", s.withRepo(s.handleTarball))
	m.HandleFunc("GET /_codeload/{owner}/{repo}/legacy.tar.gz/{sha}", s.withRepo(s.handleCodeload))

	m.HandleFunc("GET "+repo+"/pulls", s.withRepo(s.handleListPulls))
	m.HandleFunc("GET "+repo+"/pulls/{number}", s.withRepo(s.handleGetPull))
	m.HandleFunc("GET "+repo+"/pulls/{number}/files", s.withRepo(s.handlePullFiles))
	m.HandleFunc("GET "+repo+"/pulls/{number}/commits", s.withRepo(s.handlePullCommits))

	m.HandleFunc("POST "+repo+"/check-runs", s.withRepo(s.handleCreateCheckRun))
	m.HandleFunc("PATCH "+repo+"/check-runs/{id}", s.withRepo(s.handleUpdateCheckRun))
	m.HandleFunc("GET "+repo+"/check-runs/{id}", s.withRepo(s.handleGetCheckRun))
	m.HandleFunc("POST "+repo+"/statuses/{sha}", s.withRepo(s.handleCreateStatus))

	m.HandleFunc("POST "+repo+"/issues/{number}/comments", s.withRepo(s.handleCreateComment))
	m.HandleFunc("PATCH "+repo+"/issues/comments/{id}", s.withRepo(s.handleUpdateComment))
	m.HandleFunc("GET "+repo+"/issues/{a}/{b}", s.withRepo(s.handleIssuesGet))
	m.HandleFunc("POST "+repo+"/issues/comments/{id}/reactions", s.withRepo(s.handleCreateReaction))
	m.HandleFunc("GET "+repo+"/collaborators/{user}/permission", s.withRepo(s.handlePermission))

	m.HandleFunc("POST "+repo+"/deployments", s.withRepo(s.handleCreateDeployment))
	m.HandleFunc("GET "+repo+"/deployments", s.withRepo(s.handleListDeployments))
	m.HandleFunc("POST "+repo+"/deployments/{id}/statuses", s.withRepo(s.handleCreateDeploymentStatus))
	m.HandleFunc("GET "+repo+"/deployments/{id}/statuses", s.withRepo(s.handleListDeploymentStatuses))

	m.HandleFunc("POST "+repo+"/actions/workflows/{id}/dispatches", s.withRepo(s.handleDispatch))
	m.HandleFunc("GET "+repo+"/actions/workflows/{id}/runs", s.withRepo(s.handleListRuns))
	m.HandleFunc("GET "+repo+"/actions/runs", s.withRepo(s.handleListRuns))
	m.HandleFunc("GET "+repo+"/actions/runs/{id}", s.withRepo(s.handleGetRun))
	m.HandleFunc("GET "+repo+"/actions/runs/{id}/artifacts", s.withRepo(s.handleRunArtifacts))
	m.HandleFunc("GET "+repo+"/actions/artifacts/{id}/{format}", s.withRepo(s.handleArtifactArchive))
	m.HandleFunc("GET /_artifacts/{id}", s.handleArtifactBlob)
}
