package modinput

import (
	"io"
	"path/filepath"
)

// Validate is --validate-arguments: it reads the <items> document from
// stdin and checks the item's parameters. On a bad value it writes
// <error><message>...</message></error> to stdout (every problem, joined
// with "; ") and returns 1. A path that matches no file yet is only a
// warning on stderr: the input picks files up when they appear.
func Validate(stdin io.Reader, stdout, stderr io.Writer) int {
	log := logger{stderr}
	fail := func(msg string) int {
		b := appendXMLEscaped([]byte("<error><message>"), msg, false)
		b = append(b, "</message></error>\n"...)
		stdout.Write(b)
		log.Errorf("validation failed: %s", msg)
		return 1
	}
	var doc itemsDoc
	if err := decodeConfig(stdin, &doc); err != nil {
		return fail("cannot read the parameters: " + err.Error())
	}
	if len(doc.Items) != 1 {
		return fail("expected exactly one <item> in the parameters")
	}
	item := &doc.Items[0]
	cfg, errs := parseStanza(item.Name, item.params())
	if _, err := cfg.newEngine(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fail(joinErrors(errs))
	}
	if m, _ := filepath.Glob(cfg.Params.Path); len(m) == 0 {
		log.Warnf("path %s matches no file yet; files are picked up when they appear", cfg.Params.Path)
	}
	return 0
}
