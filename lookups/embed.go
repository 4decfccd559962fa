// Package lookups embeds the app's default lookup files (model parameters and
// rule packs) so the binary works on its own. At run time files found in the
// installed app's lookups folder take precedence (see config.Lookups), which
// is how an admin's edits reach the command. package.sh leaves this file out
// of the app.
package lookups

import "embed"

//go:embed *.toml *.model.bin
var FS embed.FS
