package ghfake

import (
	"net/http"
	"net/url"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v66/github"
)

// InstallationClient is a go-github client that authenticates as
// installation id through the real ghinstallation transport (app JWT, then
// an installation token) against this emulator: what the bot's GitHub
// client does against github.com, for tests that wire packages directly.
func (s *Server) InstallationClient(id int64) (*github.Client, error) {
	itr, err := ghinstallation.New(http.DefaultTransport, s.AppID(), id, s.PrivateKeyPEM())
	if err != nil {
		return nil, err
	}
	itr.BaseURL = s.URL()
	c := github.NewClient(&http.Client{Transport: itr})
	if c.BaseURL, err = url.Parse(s.URL() + "/"); err != nil {
		return nil, err
	}
	return c, nil
}
