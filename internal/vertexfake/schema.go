package vertexfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// messages are the members of the request messages the emulator reads, as
// the Vertex AI API's v1 discovery document lists them
// (https://aiplatform.googleapis.com/$discovery/rest?version=v1, the
// aiplatform-api.json the Go client google.golang.org/api/aiplatform/v1 is
// generated from). Vertex refuses a member a message does not have; the
// emulator does the same, descending into the members named in nested.
var messages = map[string][]string{
	"DeployModelRequest":   {"deployedModel", "trafficSplit"},
	"UndeployModelRequest": {"deployedModelId", "trafficSplit"},
	"UploadModelRequest":   {"model", "modelId", "parentModel", "serviceAccount"},
	"DeployedModel": {"automaticResources", "checkpointId", "createTime", "dedicatedResources", "disableContainerLogging", "disableExplanations",
		"displayName", "enableAccessLogging", "explanationSpec", "fasterDeploymentConfig", "gdcConnectedModel", "id", "model", "modelVersionId",
		"privateEndpoints", "serviceAccount", "sharedResources", "speculativeDecodingSpec", "status", "systemLabels"},
	"DedicatedResources": {"autoscalingMetricSpecs", "machineSpec", "maxReplicaCount", "minReplicaCount", "requiredReplicaCount", "spot"},
	"MachineSpec":        {"acceleratorCount", "acceleratorType", "gpuPartitionSize", "machineType", "reservationAffinity", "tpuTopology"},
	"Model": {"artifactUri", "baseModelSource", "checkpoints", "containerSpec", "createTime", "dataStats", "defaultCheckpointId", "deployedModels",
		"description", "displayName", "encryptionSpec", "etag", "explanationSpec", "labels", "metadata", "metadataArtifact", "metadataSchemaUri",
		"modelSourceInfo", "name", "originalModelInfo", "pipelineJob", "predictSchemata", "satisfiesPzi", "satisfiesPzs",
		"supportedDeploymentResourcesTypes", "supportedExportFormats", "supportedInputStorageFormats", "supportedOutputStorageFormats",
		"trainingPipeline", "updateTime", "versionAliases", "versionCreateTime", "versionDescription", "versionId", "versionUpdateTime"},
	"ModelContainerSpec": {"args", "command", "deploymentTimeout", "env", "grpcPorts", "healthProbe", "healthRoute", "imageUri", "invokeRoutePrefix",
		"livenessProbe", "ports", "predictRoute", "sharedMemorySizeMb", "startupProbe"},
	"Endpoint": {"clientConnectionConfig", "createTime", "dedicatedEndpointDns", "dedicatedEndpointEnabled", "deployedModels", "description",
		"displayName", "enablePrivateServiceConnect", "encryptionSpec", "etag", "gdcConfig", "genAiAdvancedFeaturesConfig", "labels",
		"modelDeploymentMonitoringJob", "name", "network", "predictRequestResponseLoggingConfig", "privateServiceConnectConfig",
		"satisfiesPzi", "satisfiesPzs", "trafficSplit", "updateTime"},
}

// nested names the message of a member the emulator checks inside.
var nested = map[string]map[string]string{
	"DeployModelRequest": {"deployedModel": "DeployedModel"},
	"DeployedModel":      {"dedicatedResources": "DedicatedResources"},
	"DedicatedResources": {"machineSpec": "MachineSpec"},
	"UploadModelRequest": {"model": "Model"},
	"Model":              {"containerSpec": "ModelContainerSpec"},
}

// decodeMessage reads the request body as message into v: members the
// message does not have are refused as Vertex refuses them (proto field
// paths in the error), then the body is decoded.
func decodeMessage(r *http.Request, message string, v any) *gerr {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return &gerr{400, "Invalid JSON payload received. " + err.Error(), "INVALID_ARGUMENT"}
	}
	if g := checkMembers(message, "", b); g != nil {
		return g
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &gerr{400, "Invalid JSON payload received. " + err.Error(), "INVALID_ARGUMENT"}
	}
	return nil
}

func checkMembers(message, at string, b []byte) *gerr {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return &gerr{400, "Invalid JSON payload received. " + err.Error(), "INVALID_ARGUMENT"}
	}
	known := messages[message]
	for name, raw := range members {
		found := false
		for _, k := range known {
			found = found || k == name
		}
		if !found {
			where := ""
			if at != "" {
				where = fmt.Sprintf(" at '%s'", at)
			}
			return &gerr{400, fmt.Sprintf("Invalid JSON payload received. Unknown name %q%s: Cannot find field.", name, where), "INVALID_ARGUMENT"}
		}
		if sub, ok := nested[message][name]; ok && string(raw) != "null" {
			path := snake(name)
			if at != "" {
				path = at + "." + path
			}
			if g := checkMembers(sub, path, raw); g != nil {
				return g
			}
		}
	}
	return nil
}

var upper = regexp.MustCompile(`[A-Z]`)

// snake is a JSON member's proto field name (deployedModel: deployed_model).
func snake(s string) string {
	return upper.ReplaceAllStringFunc(s, func(u string) string { return "_" + strings.ToLower(u) })
}
