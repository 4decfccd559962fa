package score

// Options are the settings of a scoring run, shared by the search command
// (`| scorecmdline field=... model=...`), the command line face (flags of the
// same names) and the modular input (stanza parameters). The mapstructure
// tags are the option names users write; the searchbnf.conf entry is checked
// against them.
type Options struct {
	// Field holds the command line to score (CIM Endpoint.Processes `process`).
	Field string `mapstructure:"field"`
	// ParentField holds the parent process name or path, for parent rules.
	ParentField string `mapstructure:"parent_field"`
	// Model names a model: a keyword model lookups/<model>.model.toml
	// (escu) or a trained one lookups/<model>.model.bin (cmdline), or
	// "none".
	Model string `mapstructure:"model"`
	// Rules lists rule packs: TOML packs lookups/<pack>.rules.toml and
	// Sigma packs lookups/<pack>/ (a folder of Sigma rules), or "none".
	Rules []string `mapstructure:"rules"`
	// MinLevel hides rule hits below this level (informational, low,
	// medium, high, critical); empty shows every level.
	MinLevel string `mapstructure:"min_level"`
	// Deobfuscate runs the deobfuscation stage before the detectors.
	Deobfuscate bool `mapstructure:"deobfuscate"`
	// Explain adds score_features, rule_explain, deobfuscated_cmdline and
	// normalized_cmdline.
	Explain bool `mapstructure:"explain"`
	// Prefix is prepended to every output field name.
	Prefix string `mapstructure:"prefix"`
}

// Defaults returns the documented defaults (design.md §2).
func Defaults() Options {
	return Options{
		Field:       "process",
		ParentField: "parent_process_name",
		Model:       "cmdline",
		Rules:       []string{"sentinel_cmd"},
		Deobfuscate: true,
	}
}
