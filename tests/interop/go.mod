module pennytrail/tests/interop

go 1.17

require golang.org/x/mod v0.7.0

// Built offline against Debian's golang-golang-x-mod-dev package.
replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
