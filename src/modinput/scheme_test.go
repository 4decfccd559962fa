package modinput

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/config"
	"scorecmdline/src/internal/golden"
)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), got)
}

// node is a generic XML tree for structural checks.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n node) names() []string {
	var out []string
	for _, c := range n.Nodes {
		out = append(out, c.XMLName.Local)
	}
	return out
}

func (n node) child(name string) (node, bool) {
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			return c, true
		}
	}
	return node{}, false
}

// TestScheme checks the --scheme document against the elements the modular
// input protocol defines (splunklib's scheme.py / argument.py) and against
// the golden file.
func TestScheme(t *testing.T) {
	var buf bytes.Buffer
	if err := Scheme(&buf); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "scheme.xml", buf.Bytes())

	var root node
	if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
		t.Fatalf("scheme is not well-formed: %v", err)
	}
	if root.XMLName.Local != "scheme" {
		t.Fatalf("root <%s>, want <scheme>", root.XMLName.Local)
	}
	allowedTop := []string{"title", "description", "use_external_validation", "use_single_instance", "streaming_mode", "endpoint"}
	for _, n := range root.names() {
		if !slices.Contains(allowedTop, n) {
			t.Errorf("unexpected <scheme> child <%s>", n)
		}
	}
	want := map[string]string{"use_external_validation": "true", "use_single_instance": "false", "streaming_mode": "xml"}
	for name, v := range want {
		c, ok := root.child(name)
		if !ok || c.Text != v {
			t.Errorf("<%s> = %q (present %v), want %q", name, c.Text, ok, v)
		}
	}
	if c, _ := root.child("title"); strings.TrimSpace(c.Text) == "" {
		t.Error("empty <title>")
	}
	ep, ok := root.child("endpoint")
	if !ok || len(ep.Nodes) != 1 || ep.Nodes[0].XMLName.Local != "args" {
		t.Fatalf("<endpoint> must hold exactly <args>, has %v", ep.names())
	}
	allowedArg := []string{"title", "description", "validation", "data_type", "required_on_edit", "required_on_create"}
	var argNames []string
	for _, a := range ep.Nodes[0].Nodes {
		if a.XMLName.Local != "arg" {
			t.Errorf("<args> child <%s>, want <arg>", a.XMLName.Local)
			continue
		}
		if len(a.Attrs) != 1 || a.Attrs[0].Name.Local != "name" {
			t.Errorf("<arg> attributes %v, want only name", a.Attrs)
			continue
		}
		name := a.Attrs[0].Value
		argNames = append(argNames, name)
		for _, c := range a.Nodes {
			if !slices.Contains(allowedArg, c.XMLName.Local) {
				t.Errorf("arg %s: unexpected <%s>", name, c.XMLName.Local)
			}
			switch c.XMLName.Local {
			case "data_type":
				if !slices.Contains([]string{"string", "number", "boolean"}, c.Text) {
					t.Errorf("arg %s: data_type %q", name, c.Text)
				}
			case "required_on_edit", "required_on_create":
				if c.Text != "true" && c.Text != "false" {
					t.Errorf("arg %s: %s %q not a lower-case boolean", name, c.XMLName.Local, c.Text)
				}
			}
		}
		if _, ok := a.child("title"); !ok {
			t.Errorf("arg %s has no <title>", name)
		}
	}
	// The scheme lists exactly the parameters Params decodes.
	var params []string
	for n := range config.OptionNames(&Params{}) {
		params = append(params, n)
	}
	slices.Sort(params)
	slices.Sort(argNames)
	if !slices.Equal(argNames, params) {
		t.Errorf("scheme args %v, Params options %v", argNames, params)
	}
	for _, req := range []string{"path", "format", "emit", "min_score", "model", "rules", "start"} {
		if !slices.Contains(argNames, req) {
			t.Errorf("scheme lacks arg %s", req)
		}
	}
}
