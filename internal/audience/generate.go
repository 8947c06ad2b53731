package audience

import (
	"fmt"
	"time"

	"filippo.io/age"
)

// GenerateIdentity makes a new age identity: X25519, or hybrid post-quantum
// (ML-KEM-768 + X25519) if pq. It returns the contents of an identity file
// in age-keygen's format, dated now, which age -d -i reads, and the
// identity's public key, the line for its recipient's .pub file.
func GenerateIdentity(pq bool, now time.Time) (identity []byte, publicKey string, err error) {
	var secret fmt.Stringer
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, "", err
		}
		secret, publicKey = id, id.Recipient().String()
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, "", err
		}
		secret, publicKey = id, id.Recipient().String()
	}
	identity = fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n", now.Format(time.RFC3339), publicKey, secret)
	return identity, publicKey, nil
}
