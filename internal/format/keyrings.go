package format

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// Keyrings is the JSON of [KeyringIndex]:
//
//	{"version":1,"keyrings":[{"name":"<digest>.age","passphrase":false,"data":"<base64>"},…]}
//
// with the keyrings sorted by name. The unlock script reads these fields
// (parseKeyrings in themes/unlock/src/unlock.js) and refuses another
// [KeyringIndexVersion].
type Keyrings struct {
	Version  int       `json:"version"`
	Keyrings []Keyring `json:"keyrings"`
}

// Keyring is one keyring of [Keyrings].
type Keyring struct {
	Name       string `json:"name"`       // file name in KeyringDir: DigestName of Data, and AgeExt
	Passphrase bool   `json:"passphrase"` // sealed with an scrypt passphrase (a guest's): the browser asks for it
	Data       []byte `json:"data"`       // the age file, base64 in JSON
}

// Marshal returns the index as encoding/json writes it, and a newline,
// in one allocation of its final size: the index holds every keyring, in
// base64, which json.Marshal would copy several times over. Names are
// written as they are: they are digest names, which JSON needs no escape
// for.
func (x *Keyrings) Marshal() []byte {
	const (
		head  = `{"version":%d,"keyrings":[`
		name  = `{"name":"`
		pass  = `","passphrase":`
		data  = `,"data":"`
		entry = len(name) + len(pass) + len(data) + len(`"}`)
	)
	size := len(fmt.Sprintf(head, x.Version)) + len("]}\n") + max(len(x.Keyrings)-1, 0) // commas
	for _, k := range x.Keyrings {
		size += entry + len(k.Name) + len(strconv.FormatBool(k.Passphrase)) + base64.StdEncoding.EncodedLen(len(k.Data))
	}
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, head, x.Version)
	for i, k := range x.Keyrings {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, name...), k.Name...), pass...)
		b = strconv.AppendBool(b, k.Passphrase)
		b = append(b, data...)
		b = base64.StdEncoding.AppendEncode(b, k.Data)
		b = append(b, `"}`...)
	}
	return append(b, "]}\n"...)
}
