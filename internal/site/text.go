package site

// CheckText returns nil if data is valid UTF-8, and otherwise a located
// error at the line and column of the first byte that is not. file is the
// slash path used in the message.
func CheckText(file string, data []byte) error { return checkText(file, data) }

// TOMLError turns an error from decoding the TOML text of file into a
// located error ("file:line:col: TOML: …"). offset is the number of lines
// before the TOML text in the file (front matter starts after its "+++").
func TOMLError(file string, offset int, err error) error { return tomlError(file, offset, err) }
