package dbt

import (
	"strings"
	"testing"
)

// FuzzParseSQL checks that no model file can crash the parser and that
// every reported position is a real line of the input.
func FuzzParseSQL(f *testing.F) {
	f.Add("select * from {{ ref('a') }}")
	f.Add("{{ config(meta={'a': {'b': [1, 2]}}) }}{{ ref('p', 'm', v=2) }}")
	f.Fuzz(func(t *testing.T, sql string) {
		facts, errs := parseSQL(sql)
		lines := strings.Count(sql, "\n") + 1
		for _, r := range facts.Refs {
			if r.Line < 1 || r.Line > lines || r.Name == "" {
				t.Fatalf("bad ref %+v for %d lines", r, lines)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines || e.Message == "" {
				t.Fatalf("bad error %+v for %d lines", e, lines)
			}
		}
	})
}

// FuzzParseSchemaYAML checks that no schema file can crash the parser.
func FuzzParseSchemaYAML(f *testing.F) {
	f.Add([]byte(ordersSchema))
	f.Add([]byte("models:\n  - name: a\n    versions: [{v: 1, columns: [{include: [x]}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, errs := parseSchemaYAML(data)
		for _, m := range sf.Models {
			if m.Name == "" {
				t.Fatalf("model without a name was kept: %+v", m)
			}
		}
		for _, e := range errs {
			if e.Message == "" {
				t.Fatalf("error without a message at line %d", e.Line)
			}
		}
	})
}

// FuzzParsePython checks that no Python model can crash its parser and
// that every reported position is a real line of the input.
func FuzzParsePython(f *testing.F) {
	f.Add("def model(dbt, session):\n    return dbt.ref('a')\n")
	f.Fuzz(func(t *testing.T, src string) {
		facts, errs := parsePython(src)
		lines := strings.Count(src, "\n") + 1
		for _, r := range facts.Refs {
			if r.Line < 1 || r.Line > lines || r.Name == "" {
				t.Fatalf("bad ref %+v for %d lines", r, lines)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines || e.Message == "" {
				t.Fatalf("bad error %+v for %d lines", e, lines)
			}
		}
	})
}
