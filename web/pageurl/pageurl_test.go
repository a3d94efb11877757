package pageurl

import "testing"

func TestLinks(t *testing.T) {
	b := Base("https://conveyor.example.com/")
	cases := map[string]string{
		b.Overview():                          "https://conveyor.example.com/",
		b.Pull("acme/shop", 7, ""):            "https://conveyor.example.com/r/acme/shop/pull/7",
		b.Pull("acme/shop", 7, "fraud model"): "https://conveyor.example.com/r/acme/shop/pull/7#artifact-fraud%20model",
		b.Artifact("acme/shop", "web"):        "https://conveyor.example.com/r/acme/shop/artifact/web",
		b.Audit("acme/shop"):                  "https://conveyor.example.com/audit?repo=acme%2Fshop",
		b.Audit(""):                           "https://conveyor.example.com/audit",
		Base("").Pull("acme/shop", 7, "web"):  "",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
