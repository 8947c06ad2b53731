package open

import "github.com/conclave-dev/conclave/internal/format"

// Names limits_test.go still uses, from before internal/format held the
// published output's contract: that file is being changed in another
// piece of work; when it is done, switch it to format's names and remove
// this file.
const (
	KeyringDir       = format.KeyringDir
	placeholderStart = format.PlaceholderStart
)
