// Package score turns a process-creation event into the output fields of
// `| scorecmdline`. The search command, the command line tools and the
// modular input all score through it, so they agree field for field.
//
// # The pipeline
//
// An Engine is built from Options (the search command's arguments) and runs
// the same stages for every event:
//
//	event ──▶ [deobfuscation] ──▶ model ──▶ rule sets ──▶ risk_score
//
// Each stage is a detector behind a small interface of this package:
//
//   - a Model (model=NAME) gives a score, its own deployed alert decision and
//     the risk an alert carries; escu.go adapts the ESCU keyword model;
//   - a RuleSet (rules=PACK,...) gives the rules that match an event; the
//     TOML packs of a search compile into one set (packs.go);
//
// A detector declares the event fields it reads (Needs), so the search
// command asks splunkd only for those, and registers its output fields when
// the engine lays them out; the layout is derived from what is loaded, and
// one check rejects two outputs of the same name (a rule flag called
// "score", say).
//
// # Adding a detector
//
// Write the adapter in a file of its own: load it in New from the option
// that selects it, implement Model or RuleSet (Needs, the per-goroutine
// scorer or matcher), and register any output fields of its own in the
// engine's layout. The per-event work happens in a per-goroutine Scorer and
// must not allocate. Scoring state never lives in the Engine, which is
// read-only and shared by every worker.
package score
