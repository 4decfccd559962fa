// Package apptest checks the Splunk app SA-scorecmdline as it is shipped:
// the .conf files of default/, the files of app/, the lookups, and the
// tarball package.sh builds, against the contract of design.md §4 and the
// AppInspect checks that apply to it. No Splunk is needed; the package holds
// only tests.
package apptest
