package auth

import (
	"strings"
	"testing"
)

func TestJoinTokenRoundTripAndValidation(t *testing.T) {
	hash := CAHash([]byte("ca"))
	tok := JoinToken{CAHash: hash, Secret: "s3cret"}
	got, err := ParseJoinToken(tok.String())
	if err != nil || got != tok {
		t.Fatalf("parse(%q) = %v, %v", tok.String(), got, err)
	}
	for _, bad := range []string{"", "K10abc::x", "K10" + strings.Repeat("z", 64) + "::x", "K10" + hash + "::"} {
		if _, err := ParseJoinToken(bad); err == nil {
			t.Errorf("ParseJoinToken(%q) succeeded", bad)
		}
	}
	if got, _ := ParseJoinToken("bare"); got.Secret != "bare" || got.CAHash != "" {
		t.Errorf("bare secret parsed as %v", got)
	}
}

func TestTokensFile(t *testing.T) {
	ts := NewTokens(t.TempDir())
	if ts.Valid("x") {
		t.Fatal("empty file accepted a secret")
	}
	first, err := ts.First()
	if err != nil {
		t.Fatal(err)
	}
	second, err := ts.Create()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ts.First()
	if again != first || first == second {
		t.Fatalf("first=%q second=%q first again=%q", first, second, again)
	}
	if !ts.Valid(first) || !ts.Valid(second) || ts.Valid(first+"x") {
		t.Fatal("validity of created secrets wrong")
	}
}
