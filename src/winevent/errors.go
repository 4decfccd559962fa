package winevent

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is.
var (
	// ErrSkipped marks a well-formed record that is not a process creation
	// (another event id, a Defender action other than ProcessCreated). A
	// reader counts it rather than reporting it.
	ErrSkipped = errors.New("not a process-creation record")
	// ErrSyntax marks a record that is not valid XML, JSON or CSV; every
	// *SyntaxError matches it.
	ErrSyntax = errors.New("syntax error")
	// ErrFieldCount marks a CSV record whose field count differs from the header's.
	ErrFieldCount = errors.New("wrong number of fields")
)

// SyntaxError is a record that does not parse in its format. Offset is the
// byte offset within the record where parsing stopped, or -1 when unknown.
type SyntaxError struct {
	Format Format
	Offset int64
	Err    error
}

func (e *SyntaxError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s: at byte %d: %v", e.Format, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Format, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Is makes every SyntaxError match ErrSyntax.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }
