package mlflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

func newFake(t *testing.T, opts ...mlflowfake.Option) *mlflowfake.Server {
	t.Helper()
	f := mlflowfake.NewTest(t, opts...)
	f.AddVersion("fraud", "13", "READY", map[string]float64{"auc": 0.93, "f1": 0.81})
	f.AddVersion("fraud", "14", "READY", map[string]float64{"auc": 0.95})
	f.AddVersion("fraud", "15", mlflowfake.StatusPending, nil)
	f.SetAlias("fraud", "production", "13")
	return f
}

func TestGetModelVersion(t *testing.T) {
	f := newFake(t)
	c := mlflow.New(f.URL() + "/")
	mv, err := c.GetModelVersion(context.Background(), "fraud", "13")
	if err != nil {
		t.Fatal(err)
	}
	if mv.Name != "fraud" || mv.Version != "13" || mv.Status != mlflow.StatusReady || mv.RunID != "run-fraud-13" {
		t.Fatalf("unexpected version: %+v", mv)
	}
	if len(mv.Aliases) != 1 || mv.Aliases[0] != "production" {
		t.Fatalf("aliases = %v, want [production]", mv.Aliases)
	}
	if len(mv.Metrics) != 0 {
		t.Fatalf("an MLflow 2 server has no metrics on the version, got %v", mv.Metrics)
	}
	pending, err := c.GetModelVersion(context.Background(), "fraud", "15")
	if err != nil || pending.Status != mlflow.StatusPending {
		t.Fatalf("pending version: %+v, %v", pending, err)
	}
}

func TestGetModelVersionNotFoundSentence(t *testing.T) {
	c := mlflow.New(newFake(t).URL())
	_, err := c.GetModelVersion(context.Background(), "fraud", "99")
	want := `MLflow: model "fraud" version 99 does not exist (RESOURCE_DOES_NOT_EXIST)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !mlflow.IsNotFound(err) {
		t.Fatal("IsNotFound = false for a missing version")
	}
	var apiErr *mlflow.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != mlflow.CodeNotFound {
		t.Fatalf("APIError = %+v", apiErr)
	}
	if !strings.Contains(apiErr.Message, "name=fraud, version=99") {
		t.Fatalf("server message lost: %q", apiErr.Message)
	}
}

func TestEmptyArgumentsAreRejectedBeforeCalling(t *testing.T) {
	f := newFake(t)
	c := mlflow.New(f.URL())
	ctx := context.Background()
	if _, err := c.GetModelVersion(ctx, "", "1"); err == nil || !strings.Contains(err.Error(), "model name is empty") {
		t.Fatalf("empty name: %v", err)
	}
	if err := c.SetAlias(ctx, "fraud", "production", ""); err == nil || !strings.Contains(err.Error(), "version is empty") {
		t.Fatalf("empty version: %v", err)
	}
	if _, err := c.GetRun(ctx, ""); err == nil || !strings.Contains(err.Error(), "run ID is empty") {
		t.Fatalf("empty run: %v", err)
	}
	if _, err := c.VersionMetrics(ctx, nil); err == nil {
		t.Fatal("nil version accepted")
	}
	if n := len(f.Calls()); n != 0 {
		t.Fatalf("%d calls reached the server for invalid arguments", n)
	}
}

func TestGetModelVersionByAlias(t *testing.T) {
	f := newFake(t)
	c := mlflow.New(f.URL())
	ctx := context.Background()
	mv, err := c.GetModelVersionByAlias(ctx, "fraud", "production")
	if err != nil || mv == nil || mv.Version != "13" {
		t.Fatalf("production = %+v, %v; want version 13", mv, err)
	}
	mv, err = c.GetModelVersionByAlias(ctx, "fraud", "staging")
	if err != nil || mv != nil {
		t.Fatalf("unset alias = %+v, %v; want nil, nil", mv, err)
	}
	calls := f.Calls()
	last := calls[len(calls)-1]
	if last.Status != http.StatusBadRequest || last.Query.Get("alias") != "staging" {
		t.Fatalf("the fake did not answer MLflow's 400 for the unset alias: %+v", last)
	}
}

func TestAliasRefusedForAnotherReasonIsAnError(t *testing.T) {
	// INVALID_PARAMETER_VALUE that is not "alias not found" must not read as
	// "nothing serving": a gate would then pass as a first release.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error_code":"INVALID_PARAMETER_VALUE","message":"Missing value for required parameter 'name'."}`))
	}))
	defer srv.Close()
	mv, err := mlflow.New(srv.URL).GetModelVersionByAlias(context.Background(), "fraud", "production")
	if err == nil || mv != nil || !strings.Contains(err.Error(), "required parameter") {
		t.Fatalf("got %+v, %v; want the server's refusal", mv, err)
	}
}

func TestAliasMissingAsInvalidParameterMeansNothingServing(t *testing.T) {
	// Some MLflow stores answer INVALID_PARAMETER_VALUE for an unset alias.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error_code":"INVALID_PARAMETER_VALUE","message":"Registered model alias production not found."}`))
	}))
	defer srv.Close()
	mv, err := mlflow.New(srv.URL).GetModelVersionByAlias(context.Background(), "fraud", "production")
	if err != nil || mv != nil {
		t.Fatalf("got %+v, %v; want nil, nil", mv, err)
	}
}

func TestSetAndDeleteAlias(t *testing.T) {
	f := newFake(t)
	c := mlflow.New(f.URL())
	ctx := context.Background()
	if err := c.SetAlias(ctx, "fraud", "production", "14"); err != nil {
		t.Fatal(err)
	}
	if got := f.Alias("fraud", "production"); got != "14" {
		t.Fatalf("alias = %q, want 14", got)
	}
	calls := f.Calls()
	if last := calls[len(calls)-1]; last.Method != http.MethodPost || !strings.Contains(last.Body, `"version":"14"`) {
		t.Fatalf("SetAlias sent %+v", last)
	}
	if err := c.DeleteAlias(ctx, "fraud", "production"); err != nil {
		t.Fatal(err)
	}
	calls = f.Calls()
	if last := calls[len(calls)-1]; last.Method != http.MethodDelete || len(last.Query) != 0 ||
		last.Body != `{"alias":"production","name":"fraud"}` {
		t.Fatalf("DeleteAlias sent %+v; want DELETE with a JSON body and no query", last)
	}
	if got := f.Alias("fraud", "production"); got != "" {
		t.Fatalf("alias after delete = %q, want unset", got)
	}
	mv, err := c.GetModelVersionByAlias(ctx, "fraud", "production")
	if err != nil || mv != nil {
		t.Fatalf("after delete: %+v, %v", mv, err)
	}
}

func TestSetAliasErrors(t *testing.T) {
	c := mlflow.New(newFake(t).URL())
	ctx := context.Background()
	err := c.SetAlias(ctx, "fraud", "production", "99")
	if want := `MLflow: model "fraud" version 99 does not exist (RESOURCE_DOES_NOT_EXIST)`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	err = c.SetAlias(ctx, "fraud", "latest", "13")
	var apiErr *mlflow.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != mlflow.CodeInvalidParam || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("reserved alias: %v", err)
	}
	if mlflow.IsNotFound(err) {
		t.Fatal("IsNotFound = true for INVALID_PARAMETER_VALUE")
	}
}

func TestGetRun(t *testing.T) {
	f := newFake(t)
	f.SetRunParam("run-fraud-13", "lr", "0.01")
	run, err := mlflow.New(f.URL()).GetRun(context.Background(), "run-fraud-13")
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != "run-fraud-13" || run.Status != "FINISHED" || run.Metrics["auc"] != 0.93 || run.Metrics["f1"] != 0.81 || run.Params["lr"] != "0.01" {
		t.Fatalf("unexpected run: %+v", run)
	}
	_, err = mlflow.New(f.URL()).GetRun(context.Background(), "nope")
	if want := `MLflow: run "nope" does not exist (RESOURCE_DOES_NOT_EXIST)`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestGetRunKeepsLatestMetricPerKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"run":{"info":{"run_uuid":"r1","status":"FINISHED"},"data":{"metrics":[
			{"key":"auc","value":0.80,"timestamp":100,"step":0},
			{"key":"auc","value":0.91,"timestamp":300,"step":2},
			{"key":"auc","value":0.85,"timestamp":200,"step":5},
			{"key":"loss","value":0.5,"timestamp":100,"step":1},
			{"key":"loss","value":0.3,"timestamp":100,"step":3},
			{"key":"loss","value":0.4,"timestamp":100,"step":2}]}}}`))
	}))
	defer srv.Close()
	run, err := mlflow.New(srv.URL).GetRun(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != "r1" || run.Metrics["auc"] != 0.91 || run.Metrics["loss"] != 0.3 {
		t.Fatalf("run = %+v; want id r1 (from run_uuid), auc 0.91 (latest timestamp), loss 0.3 (highest step)", run)
	}
}

func TestVersionMetricsFromRunAndFromVersion(t *testing.T) {
	f := newFake(t)
	c := mlflow.New(f.URL())
	ctx := context.Background()

	mv, err := c.GetModelVersion(ctx, "fraud", "14")
	if err != nil {
		t.Fatal(err)
	}
	f.ResetCalls()
	m, err := c.VersionMetrics(ctx, mv)
	if err != nil || m["auc"] != 0.95 {
		t.Fatalf("metrics via run = %v, %v", m, err)
	}
	if calls := f.Calls(); len(calls) != 1 || calls[0].Path != mlflowfake.PathRun || calls[0].Query.Get("run_id") != "run-fraud-14" {
		t.Fatalf("MLflow 2: expected one runs/get call, got %+v", calls)
	}

	f.SetMetricsOnVersion(true)
	mv, err = c.GetModelVersion(ctx, "fraud", "14")
	if err != nil {
		t.Fatal(err)
	}
	if mv.Metrics["auc"] != 0.95 {
		t.Fatalf("MLflow 3 version metrics = %v", mv.Metrics)
	}
	f.ResetCalls()
	m, err = c.VersionMetrics(ctx, mv)
	if err != nil || m["auc"] != 0.95 {
		t.Fatalf("metrics on version = %v, %v", m, err)
	}
	if n := len(f.Calls()); n != 0 {
		t.Fatalf("MLflow 3: metrics are on the version, but %d calls were made", n)
	}

	_, err = c.VersionMetrics(ctx, &mlflow.ModelVersion{Name: "fraud", Version: "7"})
	if err == nil || !strings.Contains(err.Error(), "no run_id") {
		t.Fatalf("version without run: %v", err)
	}
}

func TestTokenAuth(t *testing.T) {
	f := newFake(t, mlflowfake.WithToken("s3cret-token"))
	ctx := context.Background()
	if _, err := mlflow.New(f.URL(), mlflow.WithToken("s3cret-token")).GetModelVersion(ctx, "fraud", "13"); err != nil {
		t.Fatalf("right token: %v", err)
	}
	_, err := mlflow.New(f.URL(), mlflow.WithToken("wrong-token")).GetModelVersion(ctx, "fraud", "13")
	var apiErr *mlflow.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("error leaks the token: %v", err)
	}
	if _, err := mlflow.New(f.URL()).GetModelVersion(ctx, "fraud", "13"); err == nil {
		t.Fatal("no token accepted")
	}
}

func TestBasicAuthTakesPrecedence(t *testing.T) {
	f := newFake(t, mlflowfake.WithBasicAuth("ci", "pa55"))
	c := mlflow.New(f.URL(), mlflow.WithToken("ignored"), mlflow.WithBasicAuth("ci", "pa55"))
	if _, err := c.GetModelVersion(context.Background(), "fraud", "13"); err != nil {
		t.Fatalf("basic auth: %v", err)
	}
	_, err := mlflow.New(f.URL(), mlflow.WithBasicAuth("ci", "nope")).GetModelVersion(context.Background(), "fraud", "13")
	if err == nil || strings.Contains(err.Error(), "nope") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestNonJSONUnauthorizedBodyStillReadsWell(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>401 Authorization Required</html>", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err := mlflow.New(srv.URL).GetModelVersion(context.Background(), "fraud", "1")
	if err == nil || !strings.Contains(err.Error(), "did not accept the credentials") || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Fatalf("err = %v", err)
	}
}

func TestServerErrorWrapsWithPath(t *testing.T) {
	f := newFake(t, mlflowfake.WithToken("tok-123"))
	f.FailNext(mlflowfake.PathModelVersion, 1, http.StatusServiceUnavailable)
	c := mlflow.New(f.URL(), mlflow.WithToken("tok-123"), mlflow.WithRetry(1, 0, 0))
	_, err := c.GetModelVersion(context.Background(), "fraud", "13")
	if err == nil || !strings.Contains(err.Error(), "GET /api/2.0/mlflow/model-versions/get") || !strings.Contains(err.Error(), "TEMPORARILY_UNAVAILABLE") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "tok-123") {
		t.Fatalf("error leaks the token: %v", err)
	}
	var apiErr *mlflow.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("wrapped APIError missing: %v", err)
	}
	if _, err := c.GetModelVersion(context.Background(), "fraud", "13"); err != nil {
		t.Fatalf("the fault should apply once: %v", err)
	}
}

func TestNetworkErrorHidesCredentials(t *testing.T) {
	f := mlflowfake.New()
	base := f.URL()
	f.Close()
	withCreds := strings.Replace(base, "http://", "http://user:hunter2@", 1)
	_, err := mlflow.New(withCreds, mlflow.WithRetry(2, time.Millisecond, time.Millisecond)).GetRun(context.Background(), "r1")
	if err == nil || !strings.Contains(err.Error(), "/api/2.0/mlflow/runs/get") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	f := newFake(t)
	f.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := mlflow.New(f.URL()).GetModelVersion(ctx, "fraud", "13")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestNotMLflowServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>hello</html>"))
	}))
	defer srv.Close()
	_, err := mlflow.New(srv.URL).GetModelVersion(context.Background(), "fraud", "1")
	if err == nil || !strings.Contains(err.Error(), "is the registry URL an MLflow server") {
		t.Fatalf("err = %v", err)
	}
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv2.Close()
	_, err = mlflow.New(srv2.URL).GetModelVersion(context.Background(), "fraud", "1")
	if err == nil || !strings.Contains(err.Error(), "without the expected object") {
		t.Fatalf("err = %v", err)
	}
}

func TestPermissionDeniedFromMLflowAuthApp(t *testing.T) {
	f := newFake(t)
	f.Deny("fraud")
	_, err := mlflow.New(f.URL()).GetModelVersion(context.Background(), "fraud", "13")
	var apiErr *mlflow.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || apiErr.Code != "PERMISSION_DENIED" || mlflow.IsNotFound(err) {
		t.Fatalf("err = %v; want PERMISSION_DENIED", err)
	}
}

func TestNonFiniteMetricsDecodeAsMLflowWritesThem(t *testing.T) {
	f := newFake(t)
	f.AddVersion("fraud", "16", "", map[string]float64{"auc": math.NaN(), "loss": math.Inf(1), "gain": math.Inf(-1), "f1": 0.8})
	c := mlflow.New(f.URL())
	ctx := context.Background()
	check := func(where string, m map[string]float64) {
		t.Helper()
		if !math.IsNaN(m["auc"]) || !math.IsInf(m["loss"], 1) || !math.IsInf(m["gain"], -1) || m["f1"] != 0.8 {
			t.Fatalf("%s: metrics = %v", where, m)
		}
	}
	run, err := c.GetRun(ctx, "run-fraud-16")
	if err != nil {
		t.Fatal(err)
	}
	check("run", run.Metrics)
	calls := f.Calls()
	if body := calls[len(calls)-1]; body.Status != 200 {
		t.Fatalf("runs/get = %+v", body)
	}
	f.SetMetricsOnVersion(true)
	mv, err := c.GetModelVersion(ctx, "fraud", "16")
	if err != nil {
		t.Fatal(err)
	}
	check("model version (MLflow 3)", mv.Metrics)
}

func TestMetricValueRejectsOtherStrings(t *testing.T) {
	for _, raw := range []string{`"nan"`, `"inf"`, `"1e999"`, `true`, `"fast"`} {
		var f mlflow.Float
		if err := json.Unmarshal([]byte(raw), &f); err == nil {
			t.Errorf("%s decoded as %v; want an error", raw, float64(f))
		}
	}
	for raw, want := range map[string]float64{`0.5`: 0.5, `"0.25"`: 0.25} {
		var f mlflow.Float
		if err := json.Unmarshal([]byte(raw), &f); err != nil || float64(f) != want {
			t.Errorf("%s = %v, %v", raw, float64(f), err)
		}
	}
}

// TestMLflow3LoggedModelMetrics: a version registered from an MLflow 3
// logged model reads the metrics linked to that model, not its run's.
func TestMLflow3LoggedModelMetrics(t *testing.T) {
	f := newFake(t)
	id := f.LinkLoggedModel("fraud", "14", map[string]float64{"auc": 0.97})
	c := mlflow.New(f.URL())
	mv, err := c.GetModelVersion(context.Background(), "fraud", "14")
	if err != nil || mv.ModelID != id {
		t.Fatalf("version = %+v, %v; want model_id %s", mv, err, id)
	}
	m, err := c.VersionMetrics(context.Background(), mv)
	if err != nil || m["auc"] != 0.97 {
		t.Fatalf("metrics = %v, %v; want the logged model's auc 0.97", m, err)
	}
	calls := f.Calls()
	if last := calls[len(calls)-1]; last.Method != "GET" || last.Path != mlflowfake.PathLoggedModel+id || len(last.Query) != 0 {
		t.Fatalf("last call = %+v", last)
	}
	mv.ModelID = "m-missing"
	if _, err := c.VersionMetrics(context.Background(), mv); !mlflow.IsNotFound(err) {
		t.Fatalf("unknown logged model: %v", err)
	}
}
