package match

import (
	"errors"
	"testing"

	"scorecmdline/src/rules"
)

// TestCompileErrors: Compile refuses what rules.Validate refuses, with its
// error, and compiles nothing into a set that matches nothing.
func TestCompileErrors(t *testing.T) {
	s := sentinel(t)
	sp := &rules.Pack{Name: "sentinel_cmd", File: "sentinel_cmd" + rules.PackSuffix, Rules: s.Rules()}
	dup := &rules.Pack{Name: "other", File: "other" + rules.PackSuffix, Rules: []*rules.Rule{{Name: "reg_add", Description: "d", Any: []string{"reg add"}, Techniques: []string{"T1112"}, Pack: "other", Line: 7}}}
	tests := []struct {
		packs []*rules.Pack
		want  error
	}{
		{[]*rules.Pack{sp, dup}, rules.ErrDuplicateName},
		{[]*rules.Pack{{File: "hand", Rules: []*rules.Rule{{Name: "x", Any: []string{""}}}}}, rules.ErrEmptyPattern},
		{[]*rules.Pack{{File: "hand", Rules: []*rules.Rule{{Name: "x", Regex: "("}}}}, rules.ErrBadRegex},
		{[]*rules.Pack{{File: "hand", Rules: []*rules.Rule{{Name: "x", None: []string{"a"}}}}}, rules.ErrMissing},
	}
	for _, tt := range tests {
		_, err := Compile(tt.packs...)
		var pe *rules.PackError
		if !errors.Is(err, tt.want) || !errors.As(err, &pe) || err.Error() != rules.Validate(tt.packs...).Error() {
			t.Errorf("Compile = %v, want the error of rules.Validate (%v)", err, tt.want)
		}
	}
	if _, err := Compile(nil); err == nil {
		t.Error("Compile(nil) succeeded")
	}
	if s, err := Compile(); err != nil || len(s.NewMatcher().Match([]byte("reg add"), []byte("winword.exe"))) != 0 {
		t.Errorf("empty Compile = %v, %v", s, err)
	}
}
