// Package bech32 encodes and decodes Bech32 strings (BIP-173), the form of
// age's keys ("age1…" recipients, and their secret keys), without BIP-173's limit of 90
// characters, as age uses them.
package bech32

import (
	"errors"
	"fmt"
	"strings"
)

// charset is BIP-173's alphabet: each character is 5 bits.
const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// Encode returns the lower-case Bech32 string of hrp and data, whose bytes
// are regrouped in 5-bit values, the last padded with zero bits. The
// checksum covers hrp in lower case, so the result may be upper-cased as a
// whole (age's secret keys are).
func Encode(hrp string, data []byte) string {
	return encode(hrp, toValues(data))
}

// Decode returns the human-readable part of s, lower-cased, and its data
// as bytes. It refuses mixed case, a character outside the alphabet, a
// bad checksum, and data that does not end in a whole byte padded with at
// most four zero bits.
func Decode(s string) (hrp string, data []byte, err error) {
	hrp, values, err := decode(s)
	if err != nil {
		return "", nil, err
	}
	acc, bits := uint32(0), 0
	data = make([]byte, 0, len(values)*5/8)
	for _, v := range values {
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			data = append(data, byte(acc>>bits))
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 {
		return "", nil, errors.New("bech32: invalid padding")
	}
	return hrp, data, nil
}

// toValues regroups bytes into 5-bit values, padding the last one with
// zero bits.
func toValues(data []byte) []byte {
	out := make([]byte, 0, (len(data)*8+4)/5)
	acc, bits := uint32(0), 0
	for _, b := range data {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(5-bits)&31))
	}
	return out
}

// encode returns the lower-case Bech32 string of hrp and 5-bit values.
func encode(hrp string, values []byte) string {
	hrp = strings.ToLower(hrp)
	mod := polymod(hrp, values, []byte{0, 0, 0, 0, 0, 0}) ^ 1
	var b strings.Builder
	b.Grow(len(hrp) + 1 + len(values) + 6)
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range values {
		b.WriteByte(charset[v])
	}
	for i := range 6 {
		b.WriteByte(charset[mod>>(5*(5-i))&31])
	}
	return b.String()
}

// decode returns the human-readable part of s, lower-cased, and its 5-bit
// values without the checksum, which it checks.
func decode(s string) (string, []byte, error) {
	if strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return "", nil, errors.New("bech32: mixed case")
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || sep+7 > len(s) {
		return "", nil, errors.New("bech32: no separator, or too short")
	}
	hrp, rest := s[:sep], s[sep+1:]
	for i := 0; i < len(hrp); i++ {
		if hrp[i] < 33 || hrp[i] > 126 {
			return "", nil, fmt.Errorf("bech32: invalid character in the prefix: %q", hrp[i])
		}
	}
	values := make([]byte, len(rest))
	for i := 0; i < len(rest); i++ {
		v := strings.IndexByte(charset, rest[i])
		if v < 0 {
			return "", nil, fmt.Errorf("bech32: invalid character: %q", rest[i])
		}
		values[i] = byte(v)
	}
	if polymod(hrp, values) != 1 {
		return "", nil, errors.New("bech32: bad checksum")
	}
	return hrp, values[:len(values)-6], nil
}

// polymod is BIP-173's checksum of the human-readable part and the
// values: 1 for a valid string.
func polymod(hrp string, values ...[]byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	step := func(v byte) {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if top>>i&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] >> 5)
	}
	step(0)
	for i := 0; i < len(hrp); i++ {
		step(hrp[i] & 31)
	}
	for _, vs := range values {
		for _, v := range vs {
			step(v)
		}
	}
	return chk
}
