// Command gencontract extracts from GitHub's published OpenAPI description the operations
// Conveyor uses, with their parameter, request and response schemas converted to JSON
// Schema (2020-12), into the compact file ghfake validates every request and response
// against (internal/ghfake/testdata/github-contract.json).
//
// It reads the description from the npm package @octokit/openapi
// (generated/api.github.com.json). With -tgz it reads a tarball already on disk; without
// it, it runs `npm pack @octokit/openapi@<version>` into a temporary directory. Only
// regenerating needs the network; the test suite reads the committed output.
//
// Run it through `go generate ./internal/ghfake`.
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// operations are the (method, path) pairs Conveyor calls through go-github and ghfake
// serves; ghfake reports any route it answers that is not in this list, so the list
// cannot silently fall behind the emulator.
var operations = [][2]string{
	{"GET", "/app"},
	{"GET", "/app/installations"},
	{"GET", "/app/installations/{installation_id}"},
	{"POST", "/app/installations/{installation_id}/access_tokens"},
	{"GET", "/app/hook/deliveries"},
	{"GET", "/app/hook/deliveries/{delivery_id}"},
	{"POST", "/app/hook/deliveries/{delivery_id}/attempts"},
	{"POST", "/app-manifests/{code}/conversions"},
	{"GET", "/installation/repositories"},
	{"GET", "/user"},
	{"DELETE", "/applications/{client_id}/token"},
	{"GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"},
	{"GET", "/repos/{owner}/{repo}"},
	{"GET", "/repos/{owner}/{repo}/installation"},
	{"GET", "/repos/{owner}/{repo}/commits/{ref}"},
	{"GET", "/repos/{owner}/{repo}/commits/{ref}/status"},
	{"GET", "/repos/{owner}/{repo}/commits/{ref}/statuses"},
	{"GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"},
	{"GET", "/repos/{owner}/{repo}/compare/{basehead}"},
	{"GET", "/repos/{owner}/{repo}/contents/{path}"},
	{"GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}"},
	{"GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}"},
	{"GET", "/repos/{owner}/{repo}/tarball/{ref}"},
	{"GET", "/repos/{owner}/{repo}/pulls"},
	{"GET", "/repos/{owner}/{repo}/pulls/{pull_number}"},
	{"GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files"},
	{"GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"},
	{"POST", "/repos/{owner}/{repo}/check-runs"},
	{"GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"},
	{"PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"},
	{"POST", "/repos/{owner}/{repo}/statuses/{sha}"},
	{"GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"},
	{"POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"},
	{"GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}"},
	{"PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"},
	{"POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"},
	{"GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"},
	{"GET", "/repos/{owner}/{repo}/deployments"},
	{"POST", "/repos/{owner}/{repo}/deployments"},
	{"GET", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"},
	{"POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"},
	{"POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"},
	{"GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"},
	{"GET", "/repos/{owner}/{repo}/actions/runs"},
	{"GET", "/repos/{owner}/{repo}/actions/runs/{run_id}"},
	{"GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts"},
	{"GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}"},
}

// Contract is the generated file's shape; internal/ghfake reads the same fields.
type Contract struct {
	Source     string                     `json:"source"`
	Operations []Operation                `json:"operations"`
	Defs       map[string]json.RawMessage `json:"$defs"`
}

// Operation is one method on one path template.
type Operation struct {
	Method      string                     `json:"method"`
	Path        string                     `json:"path"`
	ID          string                     `json:"operation_id"`
	Params      []Param                    `json:"parameters,omitempty"`
	RequestBody json.RawMessage            `json:"request_body,omitempty"`
	BodyNeeded  bool                       `json:"request_body_required,omitempty"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

// Param is one path or query parameter.
type Param struct {
	Name     string          `json:"name"`
	In       string          `json:"in"`
	Required bool            `json:"required,omitempty"`
	Schema   json.RawMessage `json:"schema,omitempty"`
}

func main() {
	version := flag.String("version", "", "@octokit/openapi version (required)")
	tgz := flag.String("tgz", "", "package tarball already on disk (default: npm pack it)")
	out := flag.String("out", "testdata/github-contract.json", "output file")
	flag.Parse()
	if *version == "" {
		fail(errors.New("-version is required"))
	}
	if *tgz == "" {
		dir, err := os.MkdirTemp("", "gencontract")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("npm", "pack", "@octokit/openapi@"+*version, "--pack-destination", dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("npm pack: %w", err))
		}
		*tgz = filepath.Join(dir, "octokit-openapi-"+*version+".tgz")
	}
	spec, err := readSpec(*tgz)
	if err != nil {
		fail(err)
	}
	c, err := extract(spec, *version)
	if err != nil {
		fail(err)
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gencontract:", err)
	os.Exit(1)
}

// readSpec finds generated/api.github.com.json in the npm tarball.
func readSpec(tgz string) (map[string]any, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no package/generated/api.github.com.json", tgz)
		}
		if err != nil {
			return nil, err
		}
		if h.Name != "package/generated/api.github.com.json" {
			continue
		}
		var spec map[string]any
		if err := json.NewDecoder(tr).Decode(&spec); err != nil {
			return nil, fmt.Errorf("decode description: %w", err)
		}
		return spec, nil
	}
}

type extractor struct {
	spec map[string]any
	defs map[string]any // referenced component schemas, converted
}

func extract(spec map[string]any, version string) (*Contract, error) {
	x := &extractor{spec: spec, defs: map[string]any{}}
	paths, _ := spec["paths"].(map[string]any)
	c := &Contract{Source: "npm @octokit/openapi@" + version + " generated/api.github.com.json (OpenAPI " +
		fmt.Sprint(spec["openapi"]) + "); generated by internal/ghfake/gencontract, do not edit"}
	for _, mp := range operations {
		item, _ := paths[mp[1]].(map[string]any)
		op, _ := item[strings.ToLower(mp[0])].(map[string]any)
		if op == nil {
			return nil, fmt.Errorf("%s %s: not in the description", mp[0], mp[1])
		}
		o := Operation{Method: mp[0], Path: mp[1], Responses: map[string]json.RawMessage{}}
		o.ID, _ = op["operationId"].(string)
		params, _ := op["parameters"].([]any)
		if shared, ok := item["parameters"].([]any); ok {
			params = append(shared, params...)
		}
		for _, p := range params {
			pm := x.deref(p)
			in, _ := pm["in"].(string)
			if in != "path" && in != "query" {
				continue
			}
			name, _ := pm["name"].(string)
			req, _ := pm["required"].(bool)
			o.Params = append(o.Params, Param{Name: name, In: in, Required: req, Schema: x.schema(pm["schema"])})
		}
		if rb := x.deref(op["requestBody"]); rb != nil {
			o.BodyNeeded, _ = rb["required"].(bool)
			if s := jsonSchemaOf(rb); s != nil {
				o.RequestBody = x.schema(s)
			}
		}
		resps, _ := op["responses"].(map[string]any)
		for code, r := range resps {
			rm := x.deref(r)
			s := jsonSchemaOf(rm)
			if s == nil {
				o.Responses[code] = json.RawMessage("true")
				continue
			}
			o.Responses[code] = x.schema(s)
		}
		c.Operations = append(c.Operations, o)
	}
	applyErrata(x.defs)
	c.Defs = map[string]json.RawMessage{}
	names := make([]string, 0, len(x.defs))
	for n := range x.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := json.Marshal(x.defs[n])
		if err != nil {
			return nil, err
		}
		c.Defs[n] = b
	}
	return c, nil
}

// applyErrata corrects the description where GitHub has confirmed it is wrong, so the
// contract does not reject what the real API sends. Each entry cites the report.
func applyErrata(defs map[string]any) {
	// A pull request whose fork was deleted has "head": {"repo": null}:
	// github/rest-api-description#424 (pull-request) and #1811 (pull-request-simple).
	for _, name := range []string{"pull-request", "pull-request-simple"} {
		pr, _ := defs[name].(map[string]any)
		props, _ := pr["properties"].(map[string]any)
		head, _ := props["head"].(map[string]any)
		hp, _ := head["properties"].(map[string]any)
		if repo, ok := hp["repo"]; ok {
			hp["repo"] = map[string]any{"anyOf": []any{repo, map[string]any{"type": "null"}}}
		}
	}
}

// jsonSchemaOf is the application/json schema of a request body or response,
// if any; failing that, the first other JSON media type's (+json) by name.
// A response may list several (bad_request: application/json is a
// basic-error, application/scim+json a scim-error), and the one a client
// sending Accept: application/json gets is application/json's: choosing in
// map order made the generated file differ from run to run.
func jsonSchemaOf(m map[string]any) any {
	content, _ := m["content"].(map[string]any)
	if mt, ok := content["application/json"].(map[string]any); ok {
		return mt["schema"]
	}
	types := make([]string, 0, len(content))
	for ct := range content {
		if strings.HasSuffix(ct, "+json") {
			types = append(types, ct)
		}
	}
	sort.Strings(types)
	for _, ct := range types {
		mt, _ := content[ct].(map[string]any)
		return mt["schema"]
	}
	return nil
}

// deref follows a local $ref to a component (parameters, responses, request bodies).
func (x *extractor) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		m = x.lookup(ref)
	}
	return nil
}

func (x *extractor) lookup(ref string) map[string]any {
	var cur any = x.spec
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		mm, _ := cur.(map[string]any)
		cur = mm[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (x *extractor) schema(v any) json.RawMessage {
	b, err := json.Marshal(x.convert(v))
	if err != nil {
		fail(err)
	}
	return b
}

// dropped are OpenAPI keywords that only document; leaving them out keeps the file small.
var dropped = map[string]bool{"description": true, "example": true, "examples": true, "title": true,
	"externalDocs": true, "discriminator": true, "xml": true, "deprecated": true, "readOnly": true, "writeOnly": true}

// convert turns an OpenAPI 3.0 schema into JSON Schema 2020-12: `nullable: true` becomes a
// "null" type (or an anyOf with null when the schema has no type of its own), component
// references point into $defs, and documentation-only keywords go.
func (x *extractor) convert(v any) any {
	switch t := v.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = x.convert(e)
		}
		return out
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			const prefix = "#/components/schemas/"
			if !strings.HasPrefix(ref, prefix) {
				return x.convert(x.lookup(ref))
			}
			name := strings.TrimPrefix(ref, prefix)
			if _, seen := x.defs[name]; !seen {
				x.defs[name] = true // placeholder against cycles
				x.defs[name] = x.convert(x.lookup(ref))
			}
			return map[string]any{"$ref": "#/$defs/" + name}
		}
		out := map[string]any{}
		for k, e := range t {
			if dropped[k] || strings.HasPrefix(k, "x-") || k == "nullable" {
				continue
			}
			switch k {
			case "properties", "patternProperties", "$defs":
				props := map[string]any{}
				for pk, pv := range e.(map[string]any) {
					props[pk] = x.convert(pv)
				}
				out[k] = props
			default:
				out[k] = x.convert(e)
			}
		}
		if n, _ := t["nullable"].(bool); n {
			switch typ := out["type"].(type) {
			case string:
				out["type"] = []any{typ, "null"}
				if enum, ok := out["enum"].([]any); ok {
					out["enum"] = append(enum, nil)
				}
			default:
				return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
			}
		}
		return out
	default:
		return v
	}
}
