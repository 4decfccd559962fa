package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParsePhrase(t *testing.T) {
	tests := []struct {
		in     string
		pieces []string
		err    error
	}{
		{"net user ... /add", []string{"net user", "-add"}, nil},
		{`C:\Windows\System32\CertUtil.EXE -URLCache`, []string{`c:\windows\system32\certutil -urlcache`}, nil},
		{"echo|set /p=", []string{"echo | set -p="}, nil},
		{"a ... b ... a", []string{"a", "b", "a"}, nil},
		{"c^er\"tu\"til", []string{"certutil"}, nil},
		{"x\u2013y", []string{"x-y"}, nil},
		{"... /add", nil, ErrBadPattern},
		{"net ...", nil, ErrBadPattern},
		{"a ... ... b", nil, ErrBadPattern},
		{"reg\nadd", nil, ErrBadPattern},
		{strings.Repeat("a", maxPhrase+1), nil, ErrBadPattern},
		{"", nil, ErrEmptyPattern},
		{`^ ""`, nil, ErrEmptyPattern},
	}
	for _, tt := range tests {
		p, err := ParsePhrase(tt.in)
		if !errors.Is(err, tt.err) || !slices.Equal(p.Pieces, tt.pieces) {
			t.Errorf("ParsePhrase(%q) = %q, %v; want %q, %v", tt.in, p.Pieces, err, tt.pieces, tt.err)
		}
		if err == nil && p.Text != tt.in {
			t.Errorf("ParsePhrase(%q).Text = %q", tt.in, p.Text)
		}
	}
}
