package rules

import "fmt"

// Level is how severe a match of a rule is, on Sigma's scale, so that rule
// packs, Sigma rules and models report severity alike. Levels are ordered:
// Informational < Low < Medium < High < Critical. The zero Level is "not
// set".
type Level uint8

// Levels.
const (
	Informational Level = iota + 1
	Low
	Medium
	High
	Critical
)

var levelNames = [...]string{"", "informational", "low", "medium", "high", "critical"}

// String returns the level's name as written in packs ("high"), "" for the
// zero Level.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// ParseLevel parses a level name, in lower case as Sigma writes it. An
// unknown name is an error wrapping ErrBadValue.
func ParseLevel(s string) (Level, error) {
	for l := Informational; l <= Critical; l++ {
		if levelNames[l] == s {
			return l, nil
		}
	}
	return 0, errAt("", ErrBadValue, "%q is not a level: use informational, low, medium, high or critical", s)
}

// LevelFor is the level of a rule that gives none, from its risk, along the
// risk scale of the packs: 80 and up critical (destructive, almost never
// benign), 50 high (a known attack technique with a narrow benign use), 30
// medium (dual-use administration attackers use often), 20 low (everyday
// administration worth noting), below 20 informational.
func LevelFor(risk int) Level {
	switch {
	case risk >= 80:
		return Critical
	case risk >= 50:
		return High
	case risk >= 30:
		return Medium
	case risk >= 20:
		return Low
	}
	return Informational
}
