package modinput

import (
	"errors"
	"fmt"
)

// ErrInputXML marks a configuration document (<input> or <items>) that
// cannot be read. Record and file errors are package follow's
// (RecordError, CheckpointError) and winevent's (SyntaxError, ErrSkipped).
var ErrInputXML = errors.New("bad configuration XML")

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
