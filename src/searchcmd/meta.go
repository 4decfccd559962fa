package searchcmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-viper/mapstructure/v2"

	"scorecmdline/src/jsonenc"
)

// decodeMeta decodes a metadata object into out. Values are converted
// weakly ("0" to a number, "false" to a bool) because splunkd versions
// differ in how they type them; unknown keys are ignored.
func decodeMeta(meta []byte, out any) error {
	var v any
	if err := json.Unmarshal(meta, &v); err != nil {
		return fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: not a JSON object", ErrMetadata)
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		WeaklyTypedInput: true,
		Result:           out,
		TagName:          "mapstructure",
	})
	if err != nil {
		return err
	}
	if err := dec.Decode(m); err != nil {
		return fmt.Errorf("%w: %s", ErrMetadata, oneLine(err))
	}
	return nil
}

// oneLine keeps the substance of mapstructure's multi-line error text
// ("decoding failed due to the following error(s):\n\n'x' expected ..."),
// since the Search UI shows one message line.
func oneLine(err error) string {
	lines := strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' })
	if len(lines) > 1 && strings.HasSuffix(lines[0], ":") {
		lines = lines[1:]
	}
	return strings.Join(lines, "; ")
}

func decodeGetinfo(meta []byte) (*Getinfo, error) {
	req := new(Getinfo)
	if err := decodeMeta(meta, req); err != nil {
		return nil, err
	}
	req.SearchInfo.Search = unescape(req.SearchInfo.Search)
	return req, nil
}

type executeRequest struct {
	Action   string `mapstructure:"action"`
	Finished bool   `mapstructure:"finished"`
}

func decodeExecute(meta []byte) (executeRequest, error) {
	var req executeRequest
	err := decodeMeta(meta, &req)
	return req, err
}

// splitArgs fills Options and Positional from searchinfo.args, following
// splunklib's convention: an item with "=" is name=value, split at the
// first "=".
func splitArgs(req *Getinfo) error {
	req.Options = map[string]string{}
	req.Positional = nil
	for _, a := range req.SearchInfo.Args {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			req.Positional = append(req.Positional, a)
			continue
		}
		if _, dup := req.Options[name]; dup {
			return fmt.Errorf("%w: %s", ErrDuplicateOption, name)
		}
		req.Options[name] = value
	}
	return nil
}

// unescape percent-decodes like Python's urllib.parse.unquote: malformed
// escapes stay as they are and "+" is not a space. splunkd encodes the
// search; splunklib recordings carry it already decoded, and decoding a
// decoded search changes nothing unless it holds "%XX" text.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, l := unhex(s[i+1]), unhex(s[i+2]); h >= 0 && l >= 0 {
				b.WriteByte(byte(h<<4 | l))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// getinfoReply is the compact JSON answer to getinfo.
func getinfoReply(p *Plan) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"streaming"`)
	if len(p.Inputs) > 0 {
		b.WriteString(`,"required_fields":`)
		b.Write(marshal(p.Inputs))
	}
	if len(p.Warnings) > 0 {
		b.WriteString(`,"inspector":{"messages":[`)
		for i, w := range p.Warnings {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`["WARN",`)
			b.Write(marshal(w))
			b.WriteByte(']')
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`}`)
	return b.Bytes()
}

// errorReply carries one ERROR message and finished:true. The getinfo
// variant keeps the "type" a getinfo reply must have.
func errorReply(text string, getinfo bool) []byte {
	msg := `"inspector":{"messages":[["ERROR",` + string(marshal(text)) + `]]}`
	if getinfo {
		return []byte(`{"type":"streaming",` + msg + `,"finished":true}`)
	}
	return []byte(`{"finished":true,` + msg + `}`)
}

// marshal encodes a string or a list of strings as compact JSON, with the
// project's one string encoder (invalid UTF-8 becomes U+FFFD).
func marshal[S string | []string](v S) []byte {
	switch v := any(v).(type) {
	case string:
		return jsonenc.AppendString(nil, v)
	case []string:
		b := []byte{'['}
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, s)
		}
		return append(b, ']')
	}
	return nil
}
