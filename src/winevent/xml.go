package winevent

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
)

// ParseXML reads one Windows event rendered as XML (the XmlWinEventLog
// shape: `<Event xmlns='...'><System>...</System><EventData><Data
// Name='CommandLine'>...</Data>...</EventData></Event>`, single or double
// quoted attributes, XML entities) and maps a Sysmon Event ID 1 or Security
// 4688 event to a Record. Other events give ErrSkipped; malformed XML, or
// anything after the closing </Event> other than blanks, a *SyntaxError.
func ParseXML(line []byte) (Record, error) {
	var raw rawEvent
	if err := decodeXMLEvent(line, &raw); err != nil {
		return Record{}, err
	}
	return raw.record()
}

func decodeXMLEvent(line []byte, raw *rawEvent) error {
	d := xml.NewDecoder(bytes.NewReader(line))
	fail := func(err error) error {
		return &SyntaxError{Format: FormatXML, Offset: d.InputOffset(), Err: err}
	}
	var (
		depth   int
		section string // System, EventData or UserData child being read
		target  *flex  // where the current element's text goes
		text    []byte
		done    bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !done {
				return fail(io.ErrUnexpectedEOF)
			}
			return nil
		}
		if err != nil {
			return fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if done {
				return fail(errors.New("content after </Event>"))
			}
			depth++
			name := t.Name.Local
			switch {
			case depth == 1:
				if name != "Event" {
					return fail(errors.New("root element is <" + name + ">, not <Event>"))
				}
			case depth == 2:
				section = name
			case depth == 3 && section == "System":
				target = nil
				switch name {
				case "EventID", "Channel", "Computer":
					target = raw.slot(name)
				case "Provider":
					setAttr(&raw.Provider, t.Attr, "Name")
				case "TimeCreated":
					setAttr(&raw.TimeCreated, t.Attr, "SystemTime")
				}
			case depth == 3 && section == "EventData" && name == "Data":
				target = nil
				for _, a := range t.Attr {
					if a.Name.Local == "Name" {
						target = raw.slot(a.Value)
					}
				}
			default:
				target = nil
			}
			text = text[:0]
		case xml.CharData:
			if target != nil {
				text = append(text, t...)
			} else if done && len(bytes.TrimSpace(t)) > 0 {
				return fail(errors.New("content after </Event>"))
			}
		case xml.EndElement:
			if target != nil && depth == 3 {
				*target = flex(text)
				target = nil
			}
			depth--
			if depth == 0 {
				done = true
			}
		}
	}
}

func setAttr(dst *flex, attrs []xml.Attr, name string) {
	for _, a := range attrs {
		if a.Name.Local == name {
			*dst = flex(a.Value)
		}
	}
}
