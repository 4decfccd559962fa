package winevent

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ParseJSON reads one JSON object and maps it to a Record. Accepted shapes
// (see ../shared/samples/otrf/SOURCE.md): flat Windows event fields as NXLog
// or Logstash write them (EventID, CommandLine, Image, NewProcessName, ...),
// Azure Log Analytics (event fields in an EventData JSON string), Winlogbeat
// (winlog.event_id, winlog.event_data) and Defender DeviceProcessEvents, flat
// or inside `properties` as the streaming API sends them. Records of other
// events give ErrSkipped; invalid JSON or a non-object a *SyntaxError.
func ParseJSON(line []byte) (Record, error) {
	var raw rawEvent
	if err := decodeJSON(line, &raw); err != nil {
		return Record{}, err
	}
	return raw.record()
}

var errNotObject = errors.New("record is not a JSON object")

func decodeJSON(line []byte, raw *rawEvent) error {
	if b := bytes.TrimLeft(line, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return &SyntaxError{Format: FormatJSONL, Offset: 0, Err: errNotObject}
	}
	if err := json.Unmarshal(line, raw); err != nil {
		return jsonError(err)
	}
	// Nested shapes merge over the top level: their fields are the event's.
	if len(raw.Properties) > 0 && raw.Properties[0] == '{' {
		nested := raw.Properties
		raw.Properties = nil
		if err := json.Unmarshal(nested, raw); err != nil {
			return jsonError(err)
		}
	}
	if w := raw.Winlog; w != nil {
		for _, p := range [...]struct {
			dst *flex
			v   flex
		}{
			{&raw.EventID, w.EventID}, {&raw.Channel, w.Channel},
			{&raw.Computer, w.ComputerName}, {&raw.Provider, w.ProviderName},
		} {
			if *p.dst == "" {
				*p.dst = p.v
			}
		}
		if err := mergeEventData(w.EventData, raw); err != nil {
			return err
		}
	}
	return mergeEventData(raw.EventData, raw)
}

// mergeEventData decodes an EventData value, an object or a string holding
// one (Azure), into raw.
func mergeEventData(data json.RawMessage, raw *rawEvent) error {
	if len(data) == 0 {
		return nil
	}
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return jsonError(err)
		}
		data = []byte(s)
		if b := bytes.TrimLeft(data, " \t\r\n"); len(b) == 0 || b[0] != '{' {
			return nil // a plain text EventData carries no fields
		}
	} else if data[0] != '{' {
		return nil
	}
	var inner rawEvent
	if err := json.Unmarshal(data, &inner); err != nil {
		return jsonError(err)
	}
	inner.mergeInto(raw)
	return nil
}

// mergeInto copies inner's non-empty text fields over raw's.
func (r *rawEvent) mergeInto(raw *rawEvent) {
	for _, n := range sourceNames {
		if v := *r.slot(n); v != "" {
			*raw.slot(n) = v
		}
	}
}

func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{Format: FormatJSONL, Offset: se.Offset, Err: err}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &SyntaxError{Format: FormatJSONL, Offset: te.Offset, Err: err}
	}
	return &SyntaxError{Format: FormatJSONL, Offset: -1, Err: err}
}
