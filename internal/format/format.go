// Package format is the published-output contract of a conclave site: the
// folders, file names and markup of a built site that its readers rely on.
// The build writes them (internal/seal, internal/markdown/restricted,
// internal/manifest); the readers read them: conclave open
// (internal/open), conclave verify and pull (internal/manifest,
// internal/sign), the dev server (internal/serve), the browser's unlock
// script (themes/unlock) and a recipient with nothing but the age CLI,
// following the recipe of DESIGN §4. A site built by one release is read
// by another: change a name here only on purpose, as a change of the
// product contract, and update docs/design.md with it.
//
// The unlock script gets these names from themes/unlock/src/format.js,
// which go generate writes from this package ([JS]); a test fails when the
// committed file differs from what this package would write.
//
// This package imports only the standard library, so that every stage of
// the build and every reader can depend on it.
package format

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Limits the build enforces and every reader honours (conclave open, the
// browser): a site within them opens everywhere, and a reader given a
// hostile site does no more work than they allow.
const (
	// MaxNesting is how deep sealed passages may nest, a page restricted
	// as a whole counting as one: the build refuses deeper restricted
	// blocks, and readers open this many levels and leave deeper ones
	// sealed (a packet that names itself cannot make them loop).
	MaxNesting = 16
	// ScryptWorkFactor is the scrypt work factor (log2 N) of the
	// passphrase keyrings the build seals, and the most a reader tries:
	// each try costs 2^16 × 1 KiB = 64 MiB of memory (age's default of
	// 18 costs 256 MiB, several seconds in a phone's browser).
	ScryptWorkFactor = 16
	// MaxPassphraseKeyrings is the most passphrase keyrings (guests') a
	// site holds, and the most a reader tries a passphrase on: each try
	// is one scrypt, about 0.2 s natively and a second or more in a
	// browser, and a wrong passphrase is tried on every one.
	MaxPassphraseKeyrings = 8
)

// Folders and files of a built site, as slash paths from the site's root.
const (
	// PacketDir is the folder of the packets: one age file per sealed
	// passage or page restricted as a whole, encrypted to its audience's
	// key, at [PacketPath]. It also holds [KeyringDir] and
	// [KeyringIndex]. Readers read no packet a page names at any other
	// path ([IsPacketPath]).
	PacketDir = "packets"
	// KeyringDir is the folder of the keyrings: one age file per
	// recipient key set, encrypted to that recipient, whose plaintext is
	// an age identity file holding the keys of the recipient's audiences.
	// A keyring is named by its digest too ([DigestName] and [AgeExt]).
	// It is what an age CLI user tries: "age -d -i KEY
	// packets/keyrings/NAME.age".
	KeyringDir = PacketDir + "/keyrings"
	// KeyringIndex is every keyring of the site in one JSON file
	// ([Keyrings]), for the browser's unlock script: one request instead
	// of one per recipient.
	KeyringIndex = PacketDir + "/keyrings.json"
	// KeyringIndexVersion is the version of [KeyringIndex]'s format
	// ([Keyrings.Version]): a reader refuses an index of another version.
	KeyringIndexVersion = 1
	// AgeExt is the extension of every age file of a site: packets and
	// keyrings.
	AgeExt = ".age"

	// Manifest is the manifest of a release at the root of the site: its
	// files and their SHA-256 digests, in sha256sum format. conclave
	// verify, open and pull check every file against it.
	Manifest = "SHA256SUMS"
	// ManifestBundle is the manifest's Sigstore bundle, next to it: the
	// signature readers verify.
	ManifestBundle = Manifest + ".sigstore.json"

	// UnlockScript is the browser's unlock script, which every page with
	// a sealed passage loads. The script finds the site's root from its
	// own URL: [ScriptToRoot] goes up from its folder.
	UnlockScript = "js/unlock.js"
)

// Names of packets and keyrings: the first DigestBytes bytes of the
// SHA-256 of the file's bytes, in lowercase hex (DigestHex digits), then
// [AgeExt]. Readers check the bytes against the name before they decrypt
// anything: a packet swapped for another shows as tampered.
const (
	DigestBytes = 16
	DigestHex   = 2 * DigestBytes
)

// The placeholder of a sealed passage. A build writes, in place of the
// passage (internal/markdown/restricted):
//
//	<section class="sealed tlp-amber" data-packet="packets/….age" data-tlp="amber" aria-label="Sealed passage">
//	<p class="sealed-label"><span class="tlp-label">TLP:AMBER</span> Sealed passage for board</p>
//	<p class="sealed-help">…</p>
//	</section>
//
// The element starts with [PlaceholderStart] and holds no other element
// named [PlaceholderElement]: it ends at the first [PlaceholderEnd].
// Readers (the unlock script, conclave open) find placeholders by
// [AttrPacket], whose value is the packet's path ([PacketPath]), and
// replace the whole element; a placeholder whose passage opens becomes an
// element of class [ClassUnsealed], with its label of class
// [ClassUnsealedLabel]. The theme's CSS styles these classes.
const (
	// PlaceholderElement is the placeholder's element.
	PlaceholderElement = "section"
	// ClassSealed is the placeholder's first class. The TLP label, if
	// any, adds [ClassTLPPrefix] and the label's CSS name; a page
	// restricted as a whole adds [ClassSealedPage].
	ClassSealed = "sealed"
	// ClassSealedPage marks the placeholder of a page restricted as a
	// whole.
	ClassSealedPage = "sealed-page"
	// ClassTLPPrefix starts the class naming a TLP label, e.g.
	// "tlp-amber-strict".
	ClassTLPPrefix = "tlp-"
	// ClassTLPLabel is the span holding the TLP label in the
	// placeholder's label, e.g. "TLP:AMBER".
	ClassTLPLabel = "tlp-label"
	// AttrPacket names the passage's packet, as [PacketPath] writes it.
	AttrPacket = "data-packet"
	// AttrTLP is the TLP label's name, e.g. "amber+strict", when there is
	// one.
	AttrTLP = "data-tlp"
	// ClassSealedLabel is the paragraph saying what is sealed for whom:
	// [LabelSealed], "passage" or "briefing", then " for " and the
	// audience's display label.
	ClassSealedLabel = "sealed-label"
	// ClassSealedHelp is the paragraph telling readers how to open the
	// passage; readers replace it with a note when they cannot.
	ClassSealedHelp = "sealed-help"
	// ClassSealedHeader is the header at the top of a whole page's
	// packet, holding its title, summary and tags.
	ClassSealedHeader = "sealed-header"

	// PlaceholderStart is how every placeholder starts, in the page's
	// bytes.
	PlaceholderStart = "<" + PlaceholderElement + ` class="` + ClassSealed
	// PlaceholderEnd is how a placeholder ends: the first one after
	// PlaceholderStart.
	PlaceholderEnd = "</" + PlaceholderElement + ">"
	// PlaceholderSelector is the CSS selector of placeholders.
	PlaceholderSelector = PlaceholderElement + "." + ClassSealed + "[" + AttrPacket + "]"

	// LabelSealed starts the text of a placeholder's label (after the
	// TLP label); a reader who opens the passage shows the label with
	// [LabelOpened] in its place.
	LabelSealed = "Sealed "
	LabelOpened = "Restricted "

	// Classes readers give a placeholder they open or leave sealed.
	ClassUnsealed      = "unsealed"       // replaces ClassSealed on an opened passage
	ClassUnsealedLabel = "unsealed-label" // replaces ClassSealedLabel on its label
	ClassNotForYou     = "not-for-you"    // sealed for another audience
	ClassTampered      = "tampered"       // the unlock script: altered since the build, not opened
	ClassNotOpened     = "not-opened"     // conclave open: could not be opened (it says why)
)

// DigestName returns the name, without [AgeExt], of the packet or keyring
// holding b: the first [DigestBytes] bytes of its SHA-256, in lowercase
// hex.
func DigestName(b []byte) string {
	return DigestNameOf(sha256.Sum256(b))
}

// DigestNameOf is [DigestName] of bytes whose SHA-256 digest is sum.
func DigestNameOf(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:DigestBytes])
}

// PacketPath returns the path of the packet named digest ([DigestName]):
// "packets/<digest>.age".
func PacketPath(digest string) string {
	return PacketDir + "/" + digest + AgeExt
}

// IsPacketPath reports whether p is the path of a packet as a build names
// it: [PacketDir], a slash, [DigestHex] lowercase hex digits and [AgeExt].
// Readers refuse to read any other path a page names.
func IsPacketPath(p string) bool {
	name, ok := strings.CutPrefix(p, PacketDir+"/")
	return ok && IsDigestFile(name)
}

// IsDigestFile reports whether name is the file name of a packet or a
// keyring: [DigestHex] lowercase hex digits and [AgeExt].
func IsDigestFile(name string) bool {
	digest, ok := strings.CutSuffix(name, AgeExt)
	if !ok || len(digest) != DigestHex {
		return false
	}
	for _, c := range []byte(digest) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ScriptToRoot returns the relative URL from [UnlockScript]'s folder to
// the site's root: "../" for "js/unlock.js", "./" for a script at the
// root.
func ScriptToRoot() string {
	if n := strings.Count(UnlockScript, "/"); n > 0 {
		return strings.Repeat("../", n)
	}
	return "./"
}
