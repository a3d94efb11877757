package signin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// session is what the session cookie carries, sealed: the browser can neither
// read it (the user's token is inside) nor change it.
type session struct {
	Login   string `json:"l"`
	Token   string `json:"t"`
	CSRF    string `json:"c"`
	Expires int64  `json:"e"` // Unix seconds
}

// loginState is the sealed cookie that binds one sign-in to the browser that
// started it: GitHub's redirect must bring back the same state, and the PKCE
// verifier never leaves the server in the clear.
type loginState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Next     string `json:"n"`
	Expires  int64  `json:"e"`
}

// Cookie purposes: sealed as additional data, so one cookie's value is never
// accepted as the other's.
const (
	purposeSession = "conveyor session v1"
	purposeLogin   = "conveyor sign-in state v1"
)

// sealer encrypts and authenticates cookie values with AES-256-GCM under a
// key derived (HKDF-SHA256) from the configured session key. GCM's tag is the
// signature: a changed byte makes the value unreadable.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(secret []byte) (*sealer, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, "conveyor dashboard cookies: AES-256-GCM", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(purpose string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("cookie nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(purpose))), nil
}

// open reports whether text is a value this sealer made for purpose, and
// decodes it into v.
func (s *sealer) open(purpose, text string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return false
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return false
	}
	return json.Unmarshal(plain, v) == nil
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("signin: no randomness: %v", err)) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookie builds one of sign-in's cookies: HttpOnly, SameSite=Lax (GitHub's
// redirect back is a top-level GET, which Lax lets through; cross-site POSTs
// carry no session), Secure with the __Host- prefix whenever the dashboard is
// served over https.
func (a *Auth) cookie(name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, Expires: expires.UTC()}
	if value == "" {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0).UTC()
	}
	return c
}

func (a *Auth) cookieName(base string) string {
	if a.secure {
		return "__Host-" + base
	}
	return base
}

// session returns the request's live session, if any.
func (a *Auth) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(a.sessionCookie)
	if err != nil {
		return nil, false
	}
	var s session
	if !a.seal.open(purposeSession, c.Value, &s) || s.Login == "" || s.Token == "" {
		return nil, false
	}
	if a.now().Unix() >= s.Expires {
		return nil, false
	}
	return &s, true
}
