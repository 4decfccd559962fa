package rules

import (
	"errors"
	"fmt"
)

// Causes of a rejected pack, for errors.Is. A *PackError wraps one of them,
// sometimes with more detail in between.
var (
	ErrSyntax        = errors.New("not valid TOML")
	ErrUnknownKey    = errors.New("unknown key")
	ErrMissing       = errors.New("missing")
	ErrBadValue      = errors.New("bad value")
	ErrEmptyPattern  = errors.New("empty pattern")
	ErrBadPattern    = errors.New("bad pattern")
	ErrBadRegex      = errors.New("bad regex")
	ErrBadFlag       = errors.New("bad flag name")
	ErrDuplicateName = errors.New("duplicate rule name")
	ErrTooLarge      = errors.New("pack file too large")
	ErrBadPackName   = errors.New("bad pack name")
)

// PackError reports a mistake in a rule pack: the file, the 1-based line
// (0 when the mistake has no single line, like an empty file) and the rule
// (its name, or "#N" for the N-th [[rule]] when the name itself is at fault).
type PackError struct {
	File string
	Line int
	Rule string
	Err  error
}

func (e *PackError) Error() string {
	msg := e.File
	if e.Line > 0 {
		msg += fmt.Sprintf(":%d", e.Line)
	}
	if e.Rule != "" {
		msg += fmt.Sprintf(": rule %s", e.Rule)
	}
	return msg + ": " + e.Err.Error()
}

func (e *PackError) Unwrap() error { return e.Err }

// detail wraps a cause with the key (or key[index]) it is about, keeping the
// cause visible to errors.Is.
type detail struct {
	where string
	msg   string
	cause error
	inner error // an underlying error (a regexp's), also visible to errors.As
}

func (d *detail) Error() string {
	s := d.cause.Error()
	if d.msg != "" {
		s += ": " + d.msg
	}
	if d.where != "" {
		s = d.where + ": " + s
	}
	return s
}

func (d *detail) Unwrap() []error {
	if d.inner != nil {
		return []error{d.cause, d.inner}
	}
	return []error{d.cause}
}

func errAt(where string, cause error, format string, args ...any) error {
	return &detail{where: where, msg: fmt.Sprintf(format, args...), cause: cause}
}
