package modinput

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"scorecmdline/src/config"
	"scorecmdline/src/score"
)

func itemsXML(params string) string {
	return `<items><server_host>h</server_host><server_uri>https://127.0.0.1:8089</server_uri><session_key>k</session_key>` +
		`<checkpoint_dir>/tmp/cp</checkpoint_dir><item name="scorecmdline://sysmon">` + params + `</item></items>`
}

func param(n, v string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(v))
	return `<param name="` + n + `">` + b.String() + `</param>`
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	writeFile(t, path, "")
	good := param("path", path)
	tests := []struct {
		name    string
		params  string
		errs    []string // substrings of the <message>, nil = valid
		warning string   // substring expected on stderr
	}{
		{name: "minimal", params: good},
		{name: "all set, inherited params", params: good + param("format", "JSONL") + param("emit", "alerts") + param("min_score", "-1.5") +
			param("model", "escu") + param("rules", "sentinel_cmd") + param("start", "end") + param("poll_interval", "0.5") + param("batch_size", "10") +
			param("index", "main") + param("host", "x") + param("interval", "0") + param("disabled", "0") + param("sourcetype", "s") +
			param("python.version", "python3") + param("start_by_shell", "false") + param("_TCP_ROUTING", "*")},
		{name: "rules as param_list", params: good + `<param_list name="rules"><value>sentinel_cmd</value></param_list>`},
		{name: "model none", params: good + param("model", "none")},
		{name: "glob matching nothing is a warning", params: param("path", filepath.Join(dir, "*.nothing")), warning: "WARN path"},
		{name: "missing path", params: param("format", "xml"), errs: []string{"Illegal value: path="}},
		{name: "relative path", params: param("path", "logs/*.xml"), errs: []string{"Illegal value: path=logs/*.xml (must be an absolute path)"}},
		{name: "bad glob", params: param("path", "/x/[a"), errs: []string{"Illegal value: path=/x/[a (bad glob pattern)"}},
		{name: "unknown format", params: good + param("format", "yaml"), errs: []string{"Illegal value: format=yaml (use auto, xml, jsonl or csv)"}},
		{name: "unknown emit", params: good + param("emit", "some"), errs: []string{"Illegal value: emit=some"}},
		{name: "unparsable min_score", params: good + param("min_score", "high"), errs: []string{"Illegal value: min_score=high"}},
		{name: "NaN min_score", params: good + param("min_score", "NaN"), errs: []string{"Illegal value: min_score=NaN"}},
		{name: "unknown start", params: good + param("start", "middle"), errs: []string{"Illegal value: start=middle"}},
		{name: "unparsable poll_interval", params: good + param("poll_interval", "1s"), errs: []string{"Illegal value: poll_interval=1s"}},
		{name: "zero poll_interval", params: good + param("poll_interval", "0"), errs: []string{"Illegal value: poll_interval=0"}},
		{name: "bad batch_size", params: good + param("batch_size", "0"), errs: []string{"Illegal value: batch_size=0"}},
		{name: "unknown model", params: good + param("model", "nosuch"), errs: []string{"Illegal value: model=nosuch", `unknown model "nosuch"`}},
		{name: "unknown pack", params: good + param("rules", "sentinel_cmd,nosuch"), errs: []string{"Illegal value: rules=sentinel_cmd,nosuch", `"nosuch"`}},
		{name: "unknown option", params: good + param("colour", "red"), errs: []string{"Unrecognized option: colour=red"}},
		{name: "every problem reported", params: param("format", "x") + param("emit", "y"), errs: []string{"path=", "format=x", "emit=y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Validate(strings.NewReader(itemsXML(tt.params)), &stdout, &stderr)
			if tt.errs == nil {
				if code != 0 || stdout.Len() != 0 {
					t.Fatalf("code %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
				}
				if !strings.Contains(stderr.String(), tt.warning) {
					t.Errorf("stderr %q lacks %q", stderr.String(), tt.warning)
				}
				return
			}
			if code == 0 {
				t.Fatalf("code 0 for bad parameters")
			}
			var e struct {
				XMLName xml.Name `xml:"error"`
				Message string   `xml:"message"`
			}
			if err := xml.Unmarshal(stdout.Bytes(), &e); err != nil {
				t.Fatalf("stdout %q is not <error><message>: %v", stdout.String(), err)
			}
			for _, want := range tt.errs {
				if !strings.Contains(e.Message, want) {
					t.Errorf("message %q lacks %q", e.Message, want)
				}
			}
			if !strings.HasPrefix(stderr.String(), "ERROR ") {
				t.Errorf("stderr %q is not an ERROR line", stderr.String())
			}
		})
	}
}

func TestValidateBadDocument(t *testing.T) {
	for _, in := range []string{"", "<items>", "not xml", "<input></input>", `<items><item name="a"/><item name="b"/></items>`} {
		var stdout, stderr bytes.Buffer
		if code := Validate(strings.NewReader(in), &stdout, &stderr); code == 0 || !strings.HasPrefix(stdout.String(), "<error><message>") {
			t.Errorf("Validate(%q) = %d, stdout %q", in, code, stdout.String())
		}
	}
}

func TestParamErrorsAreTyped(t *testing.T) {
	_, errs := parseStanza("s", map[string]string{"path": "rel", "bogus": "1", "batch_size": "x"})
	if len(errs) != 3 {
		t.Fatalf("errs = %v", errs)
	}
	for _, err := range errs {
		var ae *config.ArgError
		var pe *ParamError
		if !errors.As(err, &ae) && !errors.As(err, &pe) {
			t.Errorf("%T %v is neither *config.ArgError nor *ParamError", err, err)
		}
	}
	if !errors.Is(errs[0], config.ErrBadValue) || !errors.Is(errs[1], config.ErrUnknownOption) {
		t.Errorf("sentinels: %v", errs)
	}
}

func utf16Doc(s string, big, bom bool) []byte {
	var b []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if big {
			b = binary.BigEndian.AppendUint16(b, u)
		} else {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
	}
	return b
}

func TestDecodeConfigEncodings(t *testing.T) {
	doc := `<?xml version="1.0" encoding="utf-16"?>
<input><server_host>tiny</server_host><checkpoint_dir>/some/dir</checkpoint_dir><configuration>
<stanza name="scorecmdline://aé😀" app="search"><param name="path">/x/*.xml</param><param name="index">default</param>
<param_list name="rules"><value>a</value><value>b</value></param_list></stanza>
<stanza name="scorecmdline://b"/></configuration></input>`
	utf8doc := strings.Replace(doc, `encoding="utf-16"`, `encoding="utf-8"`, 1)
	for name, in := range map[string][]byte{
		"utf-8":            []byte(utf8doc),
		"utf-16le bom":     utf16Doc(doc, false, true),
		"utf-16be bom":     utf16Doc(doc, true, true),
		"utf-16le no bom":  utf16Doc(doc, false, false),
		"trailing garbage": append([]byte(utf8doc), "\x00\x00 stdin left open"...),
	} {
		t.Run(name, func(t *testing.T) {
			var in2 inputDoc
			if err := decodeConfig(bytes.NewReader(in), &in2); err != nil {
				t.Fatal(err)
			}
			if in2.CheckpointDir != "/some/dir" || len(in2.Stanzas) != 2 || in2.Stanzas[0].Name != "scorecmdline://aé😀" || in2.Stanzas[0].App != "search" {
				t.Fatalf("decoded %+v", in2)
			}
			p := in2.Stanzas[0].params()
			if p["path"] != "/x/*.xml" || p["index"] != "default" || p["rules"] != "a,b" {
				t.Errorf("params %v", p)
			}
		})
	}
	for name, in := range map[string][]byte{
		"utf-16 declared, utf-8 bytes": []byte(doc),
		"latin1 declared":              []byte(strings.Replace(doc, "utf-16", "iso-8859-1", 1)),
		"odd utf-16":                   utf16Doc(doc, false, true)[:41],
		"lone surrogate is not an error by itself but truncation is": utf16Doc("<input><checkpoint_dir>\xed\xa0\x80", false, true),
	} {
		var in2 inputDoc
		if err := decodeConfig(bytes.NewReader(in), &in2); !errors.Is(err, ErrInputXML) {
			t.Errorf("%s: err = %v, want ErrInputXML", name, err)
		}
	}
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEngineErrorsNamed checks that an unknown model and an unknown pack
// are told apart by their sentinels, not by their text.
func TestEngineErrorsNamed(t *testing.T) {
	for _, tc := range []struct {
		params   map[string]string
		name     string
		sentinel error
	}{
		{map[string]string{"path": "/x", "model": "nosuch"}, "model", score.ErrUnknownModel},
		{map[string]string{"path": "/x", "rules": "sentinel_cmd,nosuch"}, "rules", score.ErrUnknownPack},
		{map[string]string{"path": "/x", "model": "none", "rules": "model"}, "rules", score.ErrUnknownPack},
	} {
		cfg, errs := parseStanza("s", tc.params)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		_, err := cfg.newEngine()
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Name != tc.name || !errors.Is(err, tc.sentinel) || !errors.Is(err, config.ErrBadValue) {
			t.Errorf("%v: err %v (%T), want a ParamError for %s wrapping %v", tc.params, err, err, tc.name, tc.sentinel)
		}
	}
}
