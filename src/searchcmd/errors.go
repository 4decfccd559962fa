package searchcmd

import (
	"errors"
	"fmt"
)

// Causes of a failed exchange, for errors.Is.
var (
	ErrNoRequest       = errors.New("input ended before the getinfo request")
	ErrAction          = errors.New("unexpected action")
	ErrMetadata        = errors.New("invalid metadata")
	ErrGetinfoBody     = errors.New("getinfo request carries a body")
	ErrDuplicateOption = errors.New("duplicate option")
	ErrPlan            = errors.New("invalid plan")
	ErrCommand         = errors.New("command failed")
	ErrOutputIndex     = errors.New("output index out of range")
)

// Causes of a malformed CSV body, for errors.Is.
var (
	ErrFieldCount    = errors.New("wrong number of fields")
	ErrQuote         = errors.New("unterminated quoted field")
	ErrBareQuote     = errors.New(`bare " in unquoted field`)
	ErrAfterQuote    = errors.New(`unexpected character after closing "`)
	ErrBareCR        = errors.New("carriage return not followed by newline (CR-only line ends are not supported)")
	ErrFieldTooLarge = errors.New("field too large")
)

// Error locates a failure in one request chunk. Its text is what the user
// sees in the search's ERROR message.
type Error struct {
	Chunk  int   // 1-based number of the chunk in the input stream
	Offset int64 // byte offset of the chunk's header in the input stream
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("chunk %d at byte %d: %v", e.Chunk, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// RowError locates a failure in a chunk's CSV body: a malformed row, or the
// command failing on it.
type RowError struct {
	Row    int    // 1-based data row within the chunk; 0 is the header row
	Column int    // 1-based column; 0 when the failure is not about one column
	Name   string // the column's name, when the header has it
	Err    error
}

func (e *RowError) Error() string {
	where := "header"
	if e.Row > 0 {
		where = fmt.Sprintf("row %d", e.Row)
	}
	if e.Column > 0 {
		where += fmt.Sprintf(", column %d", e.Column)
		if e.Name != "" {
			where += fmt.Sprintf(" (%q)", e.Name)
		}
	}
	return where + ": " + e.Err.Error()
}

func (e *RowError) Unwrap() error { return e.Err }
