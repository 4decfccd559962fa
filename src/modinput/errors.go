package modinput

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is.
var (
	// ErrSkipped marks a well-formed record that is not a process creation
	// (another event id, a Defender action other than ProcessCreated). It is
	// counted, not reported as an error.
	ErrSkipped = errors.New("not a process-creation record")
	// ErrSyntax marks a record that is not valid XML, JSON or CSV.
	ErrSyntax = errors.New("syntax error")
	// ErrTooLong marks a record longer than the record size limit; it is
	// skipped without being buffered whole.
	ErrTooLong = errors.New("record too long")
	// ErrFieldCount marks a CSV record whose field count differs from the header's.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrInputXML marks a configuration document (<input> or <items>) that
	// cannot be read.
	ErrInputXML = errors.New("bad configuration XML")
	// ErrCheckpoint marks a checkpoint file that cannot be read or written.
	ErrCheckpoint = errors.New("checkpoint")
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

// RecordError places a record's error in its file: Line is the 1-based line
// where the record starts, Offset its byte offset in the file.
type RecordError struct {
	File   string
	Line   int64
	Offset int64
	Err    error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("%s:%d (byte %d): %v", e.File, e.Line, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ParamError is a stanza parameter with a bad value. Its text follows the
// wording of config.ArgError, plus a hint on what is accepted.
type ParamError struct {
	Name, Value string
	Hint        string
	Err         error // wraps config.ErrBadValue
}

func (e *ParamError) Error() string {
	msg := fmt.Sprintf("Illegal value: %s=%s", e.Name, e.Value)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *ParamError) Unwrap() error { return e.Err }

// CheckpointError names the checkpoint file an operation failed on.
type CheckpointError struct {
	Path string
	Op   string // "read", "write", "parse"
	Err  error
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("checkpoint %s %s: %v", e.Op, e.Path, e.Err)
}

func (e *CheckpointError) Unwrap() error { return e.Err }

// Is makes every CheckpointError match ErrCheckpoint.
func (e *CheckpointError) Is(target error) bool { return target == ErrCheckpoint }
