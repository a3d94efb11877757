package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// editConfig replaces old by new in the head's (and, with base set, also the
// base's) .github/conveyor.yml; it fails the test when old is not there.
func editConfig(t *testing.T, files map[string]string, old, new string) {
	t.Helper()
	c := files[repoconfig.Path]
	if !strings.Contains(c, old) {
		t.Fatalf("%s lacks %q:\n%s", repoconfig.Path, old, c)
	}
	files[repoconfig.Path] = strings.Replace(c, old, new, 1)
}

// governanceFacts is an example change whose head also edits the config.
func governanceFacts(t *testing.T, change string, edits ...[2]string) *MemFacts {
	t.Helper()
	f := exampleFacts(t, change, newMLflow(t))
	f.HeadFiles = cloneFiles(f.HeadFiles)
	for _, e := range edits {
		editConfig(t, f.HeadFiles, e[0], e[1])
	}
	return f
}

func cloneFiles(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// wantGovernance asserts that the gate lists field as changed from base to
// head and shows the notice.
func wantGovernance(t *testing.T, res *Result, field, base, head string) {
	t.Helper()
	for _, c := range res.Gate.Governance {
		if c.Field == field {
			if c.Base != base || c.Head != head {
				t.Errorf("governance %s = %s -> %s, want %s -> %s", field, c.Base, c.Head, base, head)
			}
			md := res.Render("markdown")
			if !strings.Contains(md, GovernanceHeading) || !strings.Contains(md, "| `"+field+"` | "+base+" | "+head+" |") {
				t.Errorf("the gate does not show %s:\n%s", field, md)
			}
			return
		}
	}
	t.Errorf("governance changes %v lack %s", res.Gate.Governance, field)
}

func evaluate(t *testing.T, f *MemFacts) *Result {
	t.Helper()
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	res, err := s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The first scenario: AUC 0.89 with the head's thresholds lowered
// to nothing stays red, and the gate shows what would change after merge.
func TestHeadEvaluationThresholdsDoNotGovern(t *testing.T) {
	f := governanceFacts(t, "auc-regression",
		[2]string{"evaluation: {metric: auc, min: 0.90, max_regression: 0.005}", "evaluation: {metric: auc, min: 0.0, max_regression: 1.0}"})
	res := evaluate(t, f)
	q := stage(artifactByName(res, "fraud-model"), StageQuality)
	if q.Result != Fail || !strings.Contains(q.Summary, "auc 0.89 is below the minimum 0.9") {
		t.Fatalf("quality = %+v, want the base's minimum 0.9 to fail auc 0.89", q)
	}
	if res.Gate.Conclusion != Failure {
		t.Fatalf("gate = %s %q, want failure", res.Gate.Conclusion, res.Gate.Title)
	}
	wantGovernance(t, res, "artifacts.fraud-model.evaluation.min", "0.9", "0")
	wantGovernance(t, res, "artifacts.fraud-model.evaluation.max_regression", "0.005", "1")
}

// ci: [] in the head does not release the app from waiting for its CI.
func TestHeadCIListDoesNotGovern(t *testing.T) {
	f := governanceFacts(t, "good", [2]string{`ci: ["build", "test"]`, `ci: []`})
	f.CIResults = map[string]CIResult{}
	res := evaluate(t, f)
	web := artifactByName(res, "web")
	if web.Status != StatusInProgress || !strings.Contains(web.Title, "waiting for CI: build, test") {
		t.Fatalf("web = %s %q, want waiting for build, test", web.Status, web.Title)
	}
	if res.Gate.Status == StatusCompleted {
		t.Fatalf("gate = %s %s, want waiting", res.Gate.Status, res.Gate.Conclusion)
	}
	wantGovernance(t, res, "artifacts.web.ci", "[build, test]", "(none)")
}

// A 16-GPU model moved to @dev in the head still counts against acme/ml's
// quota; lowering its resources in the head does not help either.
func TestHeadOwnersAndResourcesDoNotEscapeQuota(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  [2]string
		field string
		base  string
		head  string
	}{
		{"owners", [2]string{`owners: ["@acme/ml"]`, `owners: ["@dev"]`}, "artifacts.fraud-model.owners", "[acme/ml]", "[dev]"},
		{"resources", [2]string{"gpu: 8, replicas: 2", "gpu: 0, replicas: 2"}, "artifacts.fraud-model.resources.gpu", "8", "(none)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := exampleFacts(t, "good", newMLflow(t))
			// The base already runs fraud-model on 16 GPUs (over acme/ml's 8).
			f.BaseFiles = cloneFiles(f.BaseFiles)
			editConfig(t, f.BaseFiles, "gpu: 1, replicas: 2", "gpu: 8, replicas: 2")
			f.HeadFiles = cloneFiles(f.HeadFiles)
			editConfig(t, f.HeadFiles, "gpu: 1, replicas: 2", "gpu: 8, replicas: 2")
			editConfig(t, f.HeadFiles, tc.edit[0], tc.edit[1])
			res := evaluate(t, f)
			p := stage(artifactByName(res, "fraud-model"), StagePolicy)
			if p.Result != Fail || !strings.Contains(strings.Join(p.Details, "\n"), "deny: team acme/ml would use 16 GPU in production") {
				t.Fatalf("policy = %+v, want acme/ml's quota to deny 16 GPU", p)
			}
			wantGovernance(t, res, tc.field, tc.base, tc.head)
		})
	}
}

// A head that raises resources above the quota fails now: the policy also
// judges the config the PR would merge, so the edit can only make the gate
// stricter.
func TestHeadResourcesAboveQuotaFailNow(t *testing.T) {
	res := evaluate(t, exampleFacts(t, "over-quota", newMLflow(t)))
	p := stage(artifactByName(res, "fraud-model"), StagePolicy)
	want := "deny: team acme/ml would use 16 GPU in production (0 running + 16 requested), above its quota of 8"
	found := false
	for _, d := range p.Details {
		found = found || strings.HasPrefix(d, want) && strings.HasSuffix(d, "(under this PR's .github/conveyor.yml, after merge)")
	}
	if p.Result != Fail || !found {
		t.Fatalf("policy = %+v, want %q after merge", p, want)
	}
	wantGovernance(t, res, "artifacts.fraud-model.resources.gpu", "1", "8")
}

// Switching the driver in the head changes nothing now; the gate says so.
func TestHeadDriverDoesNotGovern(t *testing.T) {
	res := evaluate(t, governanceFacts(t, "good", [2]string{"deploy: {driver: web-deploy}", "deploy: {driver: dbt}"}))
	if res.Gate.Conclusion != Success {
		t.Fatalf("gate = %s %q", res.Gate.Conclusion, res.Gate.Title)
	}
	wantGovernance(t, res, "artifacts.web.deploy.driver", "web-deploy", "dbt")
}

// Environments are the base's: dropping production's approvals or adding a
// freeze in the head shows as a governance change and nothing else.
func TestHeadEnvironmentsDoNotGovern(t *testing.T) {
	f := governanceFacts(t, "good",
		[2]string{`approvals: {count: 2, from: ["acme/sre", "acme/ml-leads"]}`, `approvals: {count: 0}`},
		[2]string{"staging: {}", `staging: {freeze: ["Fri 15:00-Mon 08:00 UTC"]}`})
	res := evaluate(t, f)
	if res.Gate.Conclusion != Success {
		t.Fatalf("gate = %s %q", res.Gate.Conclusion, res.Gate.Title)
	}
	wantGovernance(t, res, "environments.production.approvals.count", "2", "(none)")
	wantGovernance(t, res, "environments.production.approvals.from", "[acme/sre, acme/ml-leads]", "(none)")
	wantGovernance(t, res, "environments.staging.freeze", "(none)", "[Fri 15:00-Mon 08:00 UTC]")
	r := stage(artifactByName(res, "web"), StageReadiness)
	if !strings.Contains(r.Summary+strings.Join(r.Details, " "), "approvals") {
		t.Errorf("readiness = %+v, want production's base approvals", r)
	}
}

// A new artifact in the head is classified and checked, but nothing of what
// governs it is read from the head, and it cannot be deployed before merge.
func TestHeadNewArtifactIsCheckedNotDeployable(t *testing.T) {
	f := governanceFacts(t, "good", [2]string{"  analytics:\n", "  api:\n    kind: app\n    paths: [\"services/web/app.py\"]\n    owners: [\"@dev\"]\n    ci: []\n    deploy: {driver: web-deploy}\n  analytics:\n"})
	res := evaluate(t, f)
	api := artifactByName(res, "api")
	if api == nil {
		t.Fatalf("the new artifact was not checked: %v", res.Gate.Artifacts)
	}
	if r := stage(api, StageReadiness); !strings.Contains(r.Summary, "not deployable until") {
		t.Errorf("readiness = %+v", r)
	}
	if len(api.Actions) != 0 {
		t.Errorf("a new artifact offers actions %+v", api.Actions)
	}
	wantGovernance(t, res, "artifacts.api.owners", "(none)", "[dev]")
	wantGovernance(t, res, "artifacts.api.deploy.driver", "(none)", "web-deploy")
}

// A model the PR adds is judged by the thresholds the PR proposes for it:
// its author learns before merge that it would not pass, though nothing
// of the proposal governs (it only ever makes the check stricter than the
// definition without it, which gates nothing).
func TestHeadNewModelIsJudgedByWhatItProposes(t *testing.T) {
	for _, c := range []struct {
		min  string
		want string
	}{{"0.95", Fail}, {"0.90", Pass}} {
		t.Run("min "+c.min, func(t *testing.T) {
			f := governanceFacts(t, "good", [2]string{"  analytics:\n", "  risk-model:\n    kind: model\n    pointer: models/risk.yaml\n    owners: [\"@acme/ml\"]\n" +
				"    evaluation: {metric: auc, min: " + c.min + ", max_regression: 0.005}\n    deploy: {driver: mlflow}\n  analytics:\n"})
			f.HeadFiles["models/risk.yaml"] = "registry: main\nmodel: fraud-detector\nversion: \"14\"\n" // auc 0.935
			res := evaluate(t, f)
			risk := artifactByName(res, "risk-model")
			if risk == nil {
				t.Fatalf("the new model was not checked: %v", res.Gate.Artifacts)
			}
			q := stage(risk, StageQuality)
			if q.Result != c.want || !strings.Contains(strings.Join(q.Details, "\n"), "new in this pull request: judged by what it proposes") {
				t.Fatalf("quality = %+v, want %s with the note", q, c.want)
			}
			if c.want == Fail && !strings.Contains(q.Summary, "0.95") {
				t.Errorf("a failing proposal should name its threshold: %+v", q)
			}
			if r := stage(risk, StageReadiness); !strings.Contains(r.Summary, "not deployable until") {
				t.Errorf("readiness = %+v", r)
			}
			wantGovernance(t, res, "artifacts.risk-model.evaluation.metric", "(none)", "auc")
		})
	}
}
