package cli

import (
	"strings"
	"testing"
)

func TestRulesCheck(t *testing.T) {
	tests := []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{[]string{"rules", "check", "../../lookups/sentinel_cmd.rules.toml"}, 0, "", "TOML pack of 23 rules, 0 problems"},
		{[]string{"rules", "check", "testdata/rulescheck/bad.rules.toml"}, 1, "testdata/rulescheck/bad.rules.toml:3: rule a: description: missing", "TOML pack, 1 problems"},
		{[]string{"rules", "check", "testdata/rulescheck/sigma"}, 1, "testdata/rulescheck/sigma/broken.yml:6: rule Broken: condition column 8: unexpected end\n", "Sigma pack, 1 problems"},
		{[]string{"rules", "check", "testdata/rulescheck/nothing"}, 1, "", "no such file"},
		{[]string{"rules", "lint", "x"}, 2, "", "Usage: scorecmdline rules check"},
	}
	for _, tt := range tests {
		out, errs, code := runMain(t, "", tt.args...)
		if code != tt.code || !strings.HasPrefix(out, tt.stdout) || !strings.Contains(errs, tt.errs) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, out, errs, tt.code, tt.stdout, tt.errs)
		}
	}
}
