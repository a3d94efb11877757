package main

import (
	"slices"
	"testing"
	"testing/fstest"
)

// The parser reads both endpoint notations MLflow's protos use, drops
// comments and nested messages, and turns Flask's path converters into
// the contract's templates.
func TestExtract(t *testing.T) {
	svc := `service S {
  // rpc commented(Out) returns (Out.Response) { }
  rpc getRun(GetRun) returns (GetRun.Response) {
    option (rpc) = {
      endpoints: [
        {
          method: "GET"
          path: "/mlflow/runs/get"
          since: { major: 2 minor: 0 }
        }
      ]
    };
  }
  rpc getLoggedModel (GetLoggedModel) returns (GetLoggedModel.Response) {
    option (rpc) = {
      endpoints: [{ method: "GET", path: "/mlflow/logged-models/{model_id}" since { major: 3, minor: 0 }, },
                  { method: "POST", path: "/mlflow/logged-models/<model_id>/x" since { major: 2, minor: 0 }, }],
    };
  }
}
message GetRun {
  option (scalapb.message).extends = "x";
  // the run
  optional string run_id = 2;
  optional string run_uuid = 1 [(validate_required) = true];
  message Response { optional string inner = 1 [(validate_required) = true]; }
}
message GetLoggedModel {
  /* a block
     comment */
  optional string model_id = 1 [(validate_required) = true, (visibility) = PUBLIC];
}
`
	reg := `service R {
  rpc getModelVersion (GetModelVersion) returns (GetModelVersion.Response) {
    option (rpc) = { endpoints: [{ method: "GET", path: "/mlflow/model-versions/get" since { major: 2, minor: 0 }, }] };
  }
  rpc getModelVersionByAlias (GetModelVersionByAlias) returns (GetModelVersionByAlias.Response) {
    option (rpc) = { endpoints: [{ method: "GET", path: "/mlflow/registered-models/alias" since { major: 2, minor: 0 }, }] };
  }
  rpc setRegisteredModelAlias (GetModelVersionByAlias) returns (GetModelVersionByAlias.Response) {
    option (rpc) = { endpoints: [{ method: "POST", path: "/mlflow/registered-models/alias" since { major: 2, minor: 0 }, }] };
  }
  rpc deleteRegisteredModelAlias (GetModelVersionByAlias) returns (GetModelVersionByAlias.Response) {
    option (rpc) = { endpoints: [{ method: "DELETE", path: "/mlflow/registered-models/alias" since { major: 2, minor: 0 }, }] };
  }
  rpc getModelVersionDownloadUri (GetModelVersion) returns (GetModelVersion.Response) {
    option (rpc) = { endpoints: [{ method: "GET", path: "/mlflow/model-versions/get-download-uri" since { major: 2, minor: 0 }, }] };
  }
}
message GetModelVersion { optional string name = 1 [(validate_required) = true];
  optional string version = 2 [(validate_required) = true]; }
message GetModelVersionByAlias { optional string name = 1 [(validate_required) = true];
  optional string alias = 2; }
`
	art := `service A { rpc downloadArtifact (DownloadArtifact) returns (DownloadArtifact.Response) {
    option (rpc) = { endpoints: [{ method: "GET", path: "/mlflow-artifacts/artifacts/<path:artifact_path>", since { major: 2, minor: 0 }, }] };
  } }
message DownloadArtifact { message Response {} }
`
	uc := `service U {
  rpc GetModelVersion (GetModelVersionRequest) returns (R) { option (mlflow.rpc) = { endpoints: [{ method: "GET", path: "/mlflow/unity-catalog/model-versions/get" since {major: 2, minor: 0}, }] }; }
  rpc GetModelVersionByAlias (GetModelVersionRequest) returns (R) { option (rpc) = { endpoints: [{ method: "GET", path: "/mlflow/unity-catalog/registered-models/alias" since {major: 2, minor: 0}, }] }; }
  rpc SetRegisteredModelAlias (GetModelVersionRequest) returns (R) { option (rpc) = { endpoints: [{ method: "POST", path: "/mlflow/unity-catalog/registered-models/alias" since {major: 2, minor: 0}, }] }; }
  rpc DeleteRegisteredModelAlias (GetModelVersionRequest) returns (R) { option (rpc) = { endpoints: [{ method: "DELETE", path: "/mlflow/unity-catalog/registered-models/alias" since {major: 2, minor: 0}, }] }; }
}`
	ucMsgs := `message GetModelVersionRequest {
  optional string name = 1 [(validate_required) = true];
  optional string version = 2 [(validate_required) = true];
}`
	fsys := fstest.MapFS{
		"service.proto":                         {Data: []byte(svc)},
		"model_registry.proto":                  {Data: []byte(reg)},
		"mlflow_artifacts.proto":                {Data: []byte(art)},
		"databricks_uc_registry_service.proto":  {Data: []byte(uc)},
		"databricks_uc_registry_messages.proto": {Data: []byte(ucMsgs)},
	}
	c, err := extract(fsys, "test@1")
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]Operation{}
	for _, o := range c.Operations {
		byKey[o.Method+" "+o.Path] = o
	}
	for key, want := range map[string][]string{
		"GET /api/2.0/mlflow/runs/get":                                 {"run_uuid"},
		"GET /api/3.0/mlflow/logged-models/{model_id}":                 {"model_id"},
		"POST /api/2.0/mlflow/logged-models/{model_id}/x":              {"model_id"},
		"GET /api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}": nil,
		"GET /api/2.0/mlflow/registered-models/alias":                  {"name"},
		"GET /api/2.0/mlflow/unity-catalog/model-versions/get":         {"name", "version"},
	} {
		o, ok := byKey[key]
		if !ok {
			t.Errorf("%s missing; have %v", key, c.Operations)
			continue
		}
		if !slices.Equal(o.Required, want) {
			t.Errorf("%s required = %v, want %v", key, o.Required, want)
		}
	}
	if f := byKey["GET /api/2.0/mlflow/runs/get"].Fields; !slices.Equal(f, []string{"run_id", "run_uuid"}) {
		t.Errorf("GetRun fields = %v: a nested message's field or an option leaked in", f)
	}
	if _, err := extract(fstest.MapFS{"service.proto": {Data: []byte("service S {}")}}, "x"); err == nil {
		t.Error("missing rpcs and files were not reported")
	}
}
