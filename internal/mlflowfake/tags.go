package mlflowfake

import (
	"fmt"
	"sort"
)

// maxTagKey is the tag key length every MLflow storage backend supports
// (model_registry.proto, SetModelVersionTag.key: "All storage backends are
// guaranteed to support key values up to 250 bytes in size").
const maxTagKey = 250

// SetVersionTag records a tag on version ver of model name, as a team's
// pipeline does with MLflow's set-tag call after registering the version (a
// drift score measured in production, say). It panics when the version does
// not exist or the key is empty or longer than MLflow guarantees: that is a
// broken test.
func (s *Server) SetVersionTag(name, ver, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok || m.versions[ver] == nil {
		panic(fmt.Sprintf("mlflowfake.SetVersionTag: model %q has no version %q; call AddVersion first", name, ver))
	}
	if key == "" || len(key) > maxTagKey {
		panic(fmt.Sprintf("mlflowfake.SetVersionTag: tag key %q must be 1 to %d bytes", key, maxTagKey))
	}
	v := m.versions[ver]
	if v.tags == nil {
		v.tags = map[string]string{}
	}
	v.tags[key] = value
}

// wireTags renders a version's tags as the ModelVersionTag list MLflow
// sends, by key, or nil when there are none (protobuf's JSON mapping leaves
// an empty repeated field out).
func wireTags(v *version) []map[string]string {
	if len(v.tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(v.tags))
	for k := range v.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]map[string]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]string{"key": k, "value": v.tags[k]})
	}
	return out
}
