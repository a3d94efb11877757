package model

import (
	"strings"
	"testing"
)

func TestParsePointer(t *testing.T) {
	for _, src := range []string{
		"registry: main\nmodel: fraud-detector\nversion: \"14\"\n",
		"registry: main\nmodel: fraud-detector\nversion: 14\n",
	} {
		p, probs := ParsePointer([]byte(src))
		if len(probs) > 0 {
			t.Fatalf("%q: problems %v", src, probs)
		}
		if p.Registry != "main" || p.Model != "fraud-detector" || p.Version != "14" || p.Line != 3 {
			t.Errorf("%q: pointer = %+v", src, p)
		}
	}
}

func TestParsePointerAlias(t *testing.T) {
	p, probs := ParsePointer([]byte("registry: main\nmodel: fraud-detector\nalias: champion\n"))
	if len(probs) > 0 || p.Alias != "champion" || p.Version != "" || p.Line != 3 {
		t.Fatalf("pointer = %+v, problems %v", p, probs)
	}
}

func TestParsePointerProblems(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		want      string
	}{
		{"empty", "", 1, "the pointer file is empty"},
		{"syntax", "registry: [main\n", 1, "not valid YAML"},
		{"list", "- main\n", 1, "must be a mapping"},
		{"missing version", "registry: main\nmodel: m\n", 1, "has no version"},
		{"float version", "registry: main\nmodel: m\nversion: 1.5\n", 3, `version: "14"`},
		{"typo", "registry: main\nmodle: m\nversion: 1\n", 2, `did you mean "model"`},
		{"empty model", "registry: main\nmodel: \"\"\nversion: 1\n", 2, "model is empty"},
		{"registry number", "registry: 7\nmodel: m\nversion: 1\n", 1, "registry must be a string"},
		{"version and alias", "registry: main\nmodel: m\nversion: 1\nalias: champion\n", 1, "both a version and an alias"},
		{"bad alias", "registry: main\nmodel: m\nalias: \"champ ion\"\n", 3, "not an MLflow alias name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := ParsePointer([]byte(tc.src))
			for _, p := range probs {
				if strings.Contains(p.Message, tc.want) {
					if p.Line != tc.line {
						t.Errorf("problem %q on line %d, want %d", p.Message, p.Line, tc.line)
					}
					return
				}
			}
			t.Errorf("no problem containing %q; got %v", tc.want, probs)
		})
	}
}

// FuzzParsePointer checks that no pointer input panics and that every problem
// has a line.
func FuzzParsePointer(f *testing.F) {
	f.Add([]byte("registry: main\nmodel: fraud-detector\nversion: \"14\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, probs := ParsePointer(data)
		for _, pr := range probs {
			if pr.Line < 1 || pr.Message == "" {
				t.Fatalf("problem without position or message: %+v", pr)
			}
		}
		if len(probs) == 0 && (p == nil || p.Registry == "" || p.Model == "" || p.Version == "") {
			t.Fatalf("accepted incomplete pointer %+v", p)
		}
	})
}
