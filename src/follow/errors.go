package follow

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is.
var (
	// ErrTooLong marks a record longer than MaxRecordBytes; it is skipped
	// without being buffered whole.
	ErrTooLong = errors.New("record too long")
	// ErrCheckpoint marks a checkpoint file that cannot be read or written.
	ErrCheckpoint = errors.New("checkpoint")
	// ErrBroken marks a record error after which the file cannot be read
	// (a CSV header naming no known column); see Broken.
	ErrBroken = errors.New("file cannot be read")
)

// Broken wraps err, a Decoder's error for a record, to say that the rest
// of the file cannot be read either: the follower stops reading it until
// it is truncated or replaced. The text stays err's.
func Broken(err error) error { return brokenError{err} }

type brokenError struct{ err error }

func (e brokenError) Error() string        { return e.err.Error() }
func (e brokenError) Unwrap() error        { return e.err }
func (e brokenError) Is(target error) bool { return target == ErrBroken }

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
