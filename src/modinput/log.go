package modinput

import (
	"fmt"
	"io"
	"strings"
)

// logger writes "LEVEL message" lines to stderr, the form splunkd files
// into splunkd.log with the level it names. A message is kept on one line.
type logger struct{ w io.Writer }

func (l logger) log(level, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, msg)
	io.WriteString(l.w, level+" "+msg+"\n")
}

// Infof, Warnf and Errorf log at their level; they make logger a
// follow.Logger.
func (l logger) Infof(format string, args ...any)  { l.log("INFO", format, args...) }
func (l logger) Warnf(format string, args ...any)  { l.log("WARN", format, args...) }
func (l logger) Errorf(format string, args ...any) { l.log("ERROR", format, args...) }
