package ghfake

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v66/github"
)

const testInstallation = 11

// fixture starts an emulator with acme/web on installation 11 and returns a go-github
// client authenticated through ghinstallation, pointed at the root-style base URL.
func fixture(t *testing.T, opts ...Option) (*Server, *github.Client) {
	t.Helper()
	s := NewTest(t, opts...)
	s.AddRepo("acme/web", "main", testInstallation)
	return s, installationClient(t, s, testInstallation, "")
}

// installationClient builds a go-github client for an installation; prefix "" or "/api/v3".
func installationClient(t *testing.T, s *Server, installation int64, prefix string) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(http.DefaultTransport, s.AppID(), installation, s.PrivateKeyPEM())
	if err != nil {
		t.Fatalf("ghinstallation.New: %v", err)
	}
	itr.BaseURL = s.URL() + prefix
	return clientAt(t, &http.Client{Transport: itr}, s.URL()+prefix+"/")
}

// appClient builds a go-github client that authenticates as the app (JWT).
func appClient(t *testing.T, s *Server) *github.Client {
	t.Helper()
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, s.AppID(), s.PrivateKeyPEM())
	if err != nil {
		t.Fatalf("NewAppsTransport: %v", err)
	}
	atr.BaseURL = s.URL()
	return clientAt(t, &http.Client{Transport: atr}, s.URL()+"/")
}

func clientAt(t *testing.T, hc *http.Client, base string) *github.Client {
	t.Helper()
	c := github.NewClient(hc)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func str(s string) *string { return &s }

var ctx = context.Background()

func statusOf(err error) int {
	if er, ok := err.(*github.ErrorResponse); ok {
		return er.Response.StatusCode
	}
	return 0
}
